"""kind: servicenow — an event to ServiceNow Event Management (Kapacitor's servicenow handler):
POST to `[servicenow] url` with basic auth; node, type, resource, metric_name and message_key
are templates over the event (message_key defaults to the alert id, so ServiceNow groups an
alert's events); severity 1 (critical), 4 (warning) or 5 (info, ok: the alert is cleared);
fields cut to ServiceNow's lengths as Kapacitor does."""

from __future__ import annotations

import base64

import orjson

from kapacitor.alerting.kinds.base import Event, Options, render
from kapacitor.alerting.kinds.http import Request, unset
from kapacitor.config import Config

SEVERITY = {"CRITICAL": "1", "WARNING": "4", "INFO": "5", "OK": "5"}
FIELD_MAX = 100  # Kapacitor's cut of source, node, type, resource and metric_name
MESSAGE_KEY_MAX = 1024
DESCRIPTION_MAX = 4000


class ServiceNowOptions(
    Options, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="kebab"
):
    url: str = ""  # "": [servicenow] url
    username: str = ""  # "": [servicenow] username
    password: str = ""
    source: str = ""  # "": [servicenow] source
    node: str = ""
    type: str = ""
    resource: str = ""
    metric_name: str = ""
    message_key: str = ""  # "": the alert id


def servicenow_request(event: Event, o: ServiceNowOptions, cfg: Config) -> Request:
    server = cfg.servicenow
    url = o.url or server.url
    if not url:
        raise unset("servicenow", "servicenow.url")
    doc = event.doc

    def field(template: str, limit: int = FIELD_MAX) -> str:
        return render(template, doc)[:limit] if template else ""

    body = {
        "source": (o.source or server.source)[:FIELD_MAX],
        "node": field(o.node),
        "type": field(o.type),
        "resource": field(o.resource),
        "metric_name": field(o.metric_name),
        "message_key": field(o.message_key, MESSAGE_KEY_MAX)
        or str(doc.get("id", ""))[:MESSAGE_KEY_MAX],
        "severity": SEVERITY.get(str(doc.get("level")), "5"),
        "description": str(doc.get("message", ""))[:DESCRIPTION_MAX],
    }
    headers = {}
    username = o.username or server.username
    if username:
        password = o.password or server.password
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    return Request(url, orjson.dumps(body), headers=headers)
