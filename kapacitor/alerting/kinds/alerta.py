"""kind: alerta — an alert to Alerta's API (`[alerta] url` + /alert, Kapacitor's alerta
handler): resource, event, group, environment, value and service are templates over the event
(defaults: the plugin, the alert id, the instance); severity by level (ok, informational,
warning, critical); tags as k=v strings; the event document as rawData."""

from __future__ import annotations

from typing import Any

import msgspec
import orjson

from kapacitor.alerting.kinds.base import Event, Options, render
from kapacitor.alerting.kinds.http import Request, unset
from kapacitor.config import Config, parse_duration

SEVERITY = {"OK": "ok", "INFO": "informational", "WARNING": "warning", "CRITICAL": "critical"}


class AlertaOptions(Options, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="kebab"):
    token: str = ""  # "": [alerta] token
    token_prefix: str = ""  # "": [alerta] token-prefix
    resource: str = "{plugin}"
    event: str = "{id}"
    environment: str = ""  # "": [alerta] environment
    group: str = "{instance}"
    value: str = ""
    origin: str = ""  # "": [alerta] origin
    service: list[str] = msgspec.field(default_factory=lambda: ["{plugin}"])
    alert_timeout: str = "24h"  # how long Alerta keeps the alert open

    def check(self) -> None:
        super().check()
        if parse_duration(self.alert_timeout) <= 0:
            raise ValueError(f"alert-timeout must be longer than 0, got {self.alert_timeout!r}")


def alerta_request(event: Event, o: AlertaOptions, cfg: Config) -> Request:
    server = cfg.alerta
    if not server.url:
        raise unset("alerta", "alerta.url")
    doc = event.doc
    body: dict[str, Any] = {
        "environment": render(o.environment, doc) if o.environment else server.environment,
        "event": render(o.event, doc),
        "group": render(o.group, doc),
        "origin": o.origin or server.origin,
        "rawData": doc,
        "resource": render(o.resource, doc),
        "service": [render(s, doc) for s in o.service],
        "severity": SEVERITY.get(str(doc.get("level")), "indeterminate"),
        "tags": [f"{k}={v}" for k, v in sorted((doc.get("tags") or {}).items())],
        "text": str(doc.get("message", "")),
        "timeout": int(parse_duration(o.alert_timeout)),
        "value": render(o.value, doc) if o.value else "",
    }
    prefix = o.token_prefix or server.token_prefix
    headers = {"Authorization": f"{prefix} {o.token or server.token}"}
    return Request(server.url.rstrip("/") + "/alert", orjson.dumps(body), headers=headers)
