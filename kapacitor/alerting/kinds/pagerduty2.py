"""kind: pagerduty2 — PagerDuty Events API v2 (Kapacitor's pagerduty2 handler): a trigger for
INFO, WARNING and CRITICAL, a resolve for OK, both with the alert id as the dedup key, so one
incident opens and closes per alert. The whole payload goes with a resolve too (as Kapacitor
does since 1.5.9), severity "info"."""

from __future__ import annotations

from typing import Any

import msgspec
import orjson

from kapacitor.alerting.document import rfc3339_nanos
from kapacitor.alerting.kinds.base import Event, Options, render
from kapacitor.alerting.kinds.http import Request, unset
from kapacitor.config import Config

ACCEPT = "application/vnd.pagerduty+json;version=2"
SEVERITY = {"INFO": "info", "WARNING": "warning", "CRITICAL": "critical"}  # OK resolves
DETAILS = ("plugin", "instance", "tags", "value", "previousLevel", "duration", "topic")


class Link(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    href: str  # a template over the event, e.g. https://grafana/d/x?var-host={host}
    text: str = ""  # "": the href


class PagerDuty2Options(
    Options, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="kebab"
):
    routing_key: str = ""  # "": [pagerduty2] routing-key
    links: list[Link] = msgspec.field(default_factory=list)


def pagerduty2_request(event: Event, o: PagerDuty2Options, cfg: Config) -> Request:
    server = cfg.pagerduty2
    port = cfg.http.bind_address.rpartition(":")[2]
    client_url = f"http://{cfg.hostname}:{port}/kapacitor/v1"
    key = o.routing_key or server.routing_key
    if not key:
        raise unset("pagerduty2", "pagerduty2.routing-key")
    doc = event.doc
    level = str(doc.get("level", ""))
    tags = doc.get("tags") or {}
    links = []
    for link in o.links:
        href = render(link.href, doc)
        links.append({"href": href, "text": render(link.text, doc) if link.text else href})
    body: dict[str, Any] = {
        "routing_key": key,
        "event_action": "resolve" if level == "OK" else "trigger",
        "dedup_key": str(doc.get("id", "")),
        "payload": {
            "summary": str(doc.get("message", "")),
            "source": str(tags["host"]) if "host" in tags else "unknown",
            "severity": SEVERITY.get(level, "info"),
            "timestamp": rfc3339_nanos(int(doc.get("time_ns") or 0)),
            "class": str(doc.get("plugin", "")),
            "component": "",
            "group": str(doc.get("topic") or ""),
            "custom_details": {k: doc.get(k) for k in DETAILS},
        },
        "links": links or None,
        "client": "kapacitor",
        "client_url": client_url,
    }
    return Request(server.url, orjson.dumps(body), headers={"Accept": ACCEPT})
