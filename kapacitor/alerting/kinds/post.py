"""kind: post — POST each event to a URL (Kapacitor's post handler): the event JSON, or `body`
rendered as a template; `headers` added; the event id as X-Kapacitor-Event-Id."""

from __future__ import annotations

import msgspec

from kapacitor.alerting.kinds.base import Event, Options, http_url_problem, render
from kapacitor.alerting.kinds.http import JSON, HttpSender, Request
from kapacitor.config import Config

H_EVENT_ID = "X-Kapacitor-Event-Id"


class PostOptions(Options, frozen=True, kw_only=True, forbid_unknown_fields=True):
    url: str
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    body: str | None = None  # a template over the event (docs/alerts.md); None: the JSON

    def check(self) -> None:
        super().check()
        problem = http_url_problem(self.url)
        if problem is not None:
            raise ValueError(f"url {problem}")


def post_request(event: Event, o: PostOptions) -> Request:
    headers = dict(o.headers)
    if event.id:
        headers[H_EVENT_ID] = event.id
    if o.body is None:
        return Request(o.url, event.data, JSON, headers)
    return Request(o.url, render(o.body, event.doc).encode(), "text/plain", headers)


class PostSender(HttpSender):
    def __init__(self, options: PostOptions, cfg: Config | None = None) -> None:
        super().__init__(
            lambda e: post_request(e, options),
            options.timeout_s,
            f"POST {options.url}",
            cfg.outbound_policy() if cfg is not None else None,
        )
