"""kind: bigpanda — an alert to BigPanda's Alerts API (Kapacitor's bigpanda handler): POST to
`[bigpanda] url` with `Authorization: Bearer <token>`; status ok (OK and INFO), warning or
critical; check the alert id, description the message, details the event's details, task
`<plugin>:<measurement>`, timestamp in seconds; the instance's tags as attributes (unless
`[bigpanda] auto-attributes` leaves them out), then the handler's `attributes` (templates)."""

from __future__ import annotations

from typing import Any

import msgspec
import orjson

from kapacitor.alerting.kinds.base import Event, Options, render
from kapacitor.alerting.kinds.http import Request, unset
from kapacitor.config import Config
from kapacitor.lineprotocol.scan import parse_key

STATUS = {"OK": "ok", "INFO": "ok", "WARNING": "warning", "CRITICAL": "critical"}


class BigPandaOptions(
    Options, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="kebab"
):
    app_key: str = ""  # "": [bigpanda] app-key
    url: str = ""  # "": [bigpanda] url
    primary_property: str = ""
    secondary_property: str = ""
    attributes: dict[str, str] = msgspec.field(default_factory=dict)  # name: template


def bigpanda_request(event: Event, o: BigPandaOptions, cfg: Config) -> Request:
    server = cfg.bigpanda
    if not server.token:
        raise unset("bigpanda", "bigpanda.token")
    app_key = o.app_key or server.app_key
    if not app_key:
        raise unset("bigpanda", "bigpanda.app-key")
    doc = event.doc
    body: dict[str, Any] = {}
    if doc.get("message"):
        body["description"] = str(doc["message"])
    details = str(doc.get("details") or "")
    if details and not details.startswith("{"):
        body["details"] = details
    if doc.get("id"):
        body["check"] = str(doc["id"])
    measurement = parse_key(str(doc.get("instance", ""))).measurement
    body["task"] = f"{doc.get('plugin', '')}:{measurement}"
    body["timestamp"] = int(doc.get("time_ns") or 0) // 1_000_000_000
    body["status"] = STATUS.get(str(doc.get("level")), "critical")
    if o.primary_property:
        body["primary_property"] = o.primary_property
    if o.secondary_property:
        body["secondary_property"] = o.secondary_property
    body["app_key"] = app_key
    if "tags" in server.auto_attributes.lower():
        body.update({str(k): str(v) for k, v in (doc.get("tags") or {}).items()})
    body.update({k: render(v, doc) for k, v in o.attributes.items()})
    headers = {"Authorization": f"Bearer {server.token}"}
    return Request(o.url or server.url, orjson.dumps(body), headers=headers)
