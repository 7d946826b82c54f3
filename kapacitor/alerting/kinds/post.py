"""kind: post — POST each event to a URL (Kapacitor's post handler): the event JSON, or `body`
rendered as a template; `headers` added; the event id as X-Kapacitor-Event-Id."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import msgspec

from kapacitor.alerting.kinds.base import Event, Options, Undelivered, render

H_EVENT_ID = "X-Kapacitor-Event-Id"


class PostOptions(Options, frozen=True, kw_only=True, forbid_unknown_fields=True):
    url: str
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    body: str | None = None  # a template over the event (docs/alerts.md); None: the JSON

    def check(self) -> None:
        super().check()
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"url must be an http:// or https:// URL, got {self.url!r}")


class PostSender:
    def __init__(self, options: PostOptions) -> None:
        self.options = options
        self._client = httpx.AsyncClient(timeout=options.timeout_s)

    async def send(self, event: Event) -> None:
        o = self.options
        headers = {"Content-Type": "application/json" if o.body is None else "text/plain"}
        headers.update(o.headers)
        if event.id:
            headers[H_EVENT_ID] = event.id
        body = event.data if o.body is None else render(o.body, event.doc).encode()
        try:
            r = await self._client.post(o.url, content=body, headers=headers)
        except httpx.HTTPError as e:
            raise Undelivered(f"POST {o.url}: {e or type(e).__name__}", retry=True) from e
        if r.status_code >= 400:
            raise Undelivered(f"POST {o.url} answered {r.status_code}", retry=r.status_code >= 500)

    async def close(self) -> None:
        await self._client.aclose()
