"""kind: victorops — VictorOps (Splunk On-Call) REST endpoint (Kapacitor's victorops handler):
`<url>/<api-key>/<routing-key>`, message_type the level (RECOVERY for OK), entity_id the
alert id, so an incident opens and recovers per alert."""

from __future__ import annotations

from typing import Any

import orjson

from kapacitor.alerting.kinds.base import Event, Options
from kapacitor.alerting.kinds.http import Request, unset
from kapacitor.config import Config


class VictorOpsOptions(
    Options, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="kebab"
):
    routing_key: str = ""  # "": [victorops] routing-key


def victorops_request(event: Event, o: VictorOpsOptions, cfg: Config) -> Request:
    server = cfg.victorops
    if not server.api_key:
        raise unset("victorops", "victorops.api-key")
    doc = event.doc
    level = str(doc.get("level", ""))
    routing = o.routing_key or server.routing_key
    url = "/".join(p for p in (server.url.rstrip("/"), server.api_key, routing) if p)
    body: dict[str, Any] = {
        "data": doc if server.json_data else event.data.decode(),
        "entity_id": str(doc.get("id", "")),
        "message_type": "RECOVERY" if level == "OK" else level,
        "monitoring_tool": "kapacitor",
        "state_message": str(doc.get("message", "")),
        "timestamp": int(doc.get("time_ns") or 0) // 1_000_000_000,
    }
    return Request(url, orjson.dumps(body))
