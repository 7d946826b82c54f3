"""kind: nats — publish each event document to a NATS subject (`subject`, a template over the
event, e.g. "alerts.{level}.{host}"), on kapacitord's own NATS unless `url` names another.
The event id goes along as the Nats-Msg-Id header: a JetStream stream on that subject stores
a redelivered event once."""

from __future__ import annotations

import asyncio

import nats
import nats.errors
from nats.aio.client import Client

from kapacitor.alerting.kinds.base import Event, Options, Undelivered, render
from kapacitor.config import Config

H_MSG_ID = "Nats-Msg-Id"


class NatsOptions(Options, frozen=True, kw_only=True, forbid_unknown_fields=True):
    subject: str
    url: str = ""  # "": kapacitord's own NATS (nats.url)

    def check(self) -> None:
        super().check()
        if not self.subject or any(c in self.subject for c in " \t\r\n"):
            raise ValueError(f"subject must be a NATS subject, got {self.subject!r}")


class NatsSender:
    def __init__(self, options: NatsOptions, cfg: Config) -> None:
        self.options = options
        self.url = options.url or cfg.nats_url
        self._nc: Client | None = None

    async def send(self, event: Event) -> None:
        subject = render(self.options.subject, event.doc)
        try:
            if self._nc is None or self._nc.is_closed:
                # Bounded: nats-py's defaults try a server that is down for two minutes.
                async with asyncio.timeout(self.options.timeout_s):
                    self._nc = await nats.connect(
                        self.url,
                        name="kapacitor-handler",
                        connect_timeout=self.options.timeout_s,
                        max_reconnect_attempts=1,
                        reconnect_time_wait=0.1,
                    )
            headers = {H_MSG_ID: event.id} if event.id else None
            await self._nc.publish(subject, event.data, headers=headers)
            await self._nc.flush(timeout=max(1, round(self.options.timeout_s)))
        except (nats.errors.Error, OSError, TimeoutError) as e:
            raise Undelivered(
                f"nats {self.url} {subject}: {e or type(e).__name__}", retry=True
            ) from e

    async def close(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.close()
