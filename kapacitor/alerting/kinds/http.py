"""What every kind that POSTs to a service shares: the request a kind builds from an event (a
pure function of the event, its options and the server's settings), and the sender that makes
it and reads the answer: 2xx delivered, 4xx refused (not retried), 5xx or no answer retried."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from kapacitor.alerting.kinds.base import Event, Options, Undelivered
from kapacitor.config import Config
from kapacitor.errors import RequestError
from kapacitor.outbound import OutboundPolicy, quoted

JSON = "application/json"
MAX_ANSWER = 200  # characters of a refusal's answer quoted in the failure


@dataclass(frozen=True, slots=True)
class Request:
    url: str
    body: bytes
    content_type: str = JSON
    headers: Mapping[str, str] = field(default_factory=dict)


class HttpSender:
    def __init__(
        self,
        build: Callable[[Event], Request],
        timeout_s: float,
        what: str,
        policy: OutboundPolicy | None = None,
    ) -> None:
        self.build = build
        self.what = what
        self.policy = policy  # where it may not send (outbound.deny-networks)
        self._client = httpx.AsyncClient(timeout=timeout_s)

    async def send(self, event: Event) -> None:
        req = self.build(event)
        headers = {"Content-Type": req.content_type, **req.headers}
        if self.policy is not None:
            try:
                await self.policy.check(req.url)
            except RequestError as e:
                raise Undelivered(f"{self.what}: {e}", retry=False) from None
        try:
            r = await self._client.post(req.url, content=req.body, headers=headers)
        except httpx.HTTPError as e:
            raise Undelivered(f"{self.what}: {e or type(e).__name__}", retry=True) from e
        if r.status_code >= 300:
            answer = quoted(r.text, MAX_ANSWER)
            raise Undelivered(
                f"{self.what} answered {r.status_code}" + (f": {answer}" if answer else ""),
                retry=r.status_code >= 500,
            )

    async def close(self) -> None:
        await self._client.aclose()


def unset(what: str, setting: str) -> Undelivered:
    """The failure of a handler whose kind needs a server setting nobody gave (final)."""
    env = "KAPACITOR_" + setting.upper().replace(".", "_").replace("-", "_")
    return Undelivered(f"{what}: no {setting} in kapacitord's config ({env})", retry=False)


def http_kind(
    build: Callable[[Event, Any, Config], Request], what: str
) -> Callable[[Options, Config], HttpSender]:
    """The sender factory of a kind that POSTs what `build(event, options, config)` makes."""

    def sender(options: Options, cfg: Config) -> HttpSender:
        return HttpSender(
            lambda e: build(e, options, cfg), options.timeout_s, what, cfg.outbound_policy()
        )

    return sender
