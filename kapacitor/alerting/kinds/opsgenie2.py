"""kind: opsgenie2 — OpsGenie Alert API v2 (Kapacitor's opsgenie2 handler): INFO, WARNING and
CRITICAL create (or add to) the alert whose alias is the alert id, priority P5, P3, P1; OK
adds a note to it or closes it (`recovery-action`)."""

from __future__ import annotations

import base64
from typing import Any

import msgspec
import orjson

from kapacitor.alerting.kinds.base import Event, Options
from kapacitor.alerting.kinds.http import Request, unset
from kapacitor.config import Config

PRIORITY = {"INFO": "P5", "WARNING": "P3", "CRITICAL": "P1"}
RECOVERY_ACTIONS = ("notes", "close")


class OpsGenie2Options(
    Options, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="kebab"
):
    teams_list: list[str] = msgspec.field(default_factory=list)  # []: [opsgenie2] teams
    recipients_list: list[str] = msgspec.field(default_factory=list)
    recovery_action: str = ""  # notes or close; "": [opsgenie2] recovery-action

    def check(self) -> None:
        super().check()
        if self.recovery_action and self.recovery_action not in RECOVERY_ACTIONS:
            raise ValueError(
                f"recovery-action must be notes or close, got {self.recovery_action!r}"
            )


def _listed(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def opsgenie2_request(event: Event, o: OpsGenie2Options, cfg: Config) -> Request:
    server = cfg.opsgenie2
    if not server.api_key:
        raise unset("opsgenie2", "opsgenie2.api-key")
    doc = event.doc
    alert_id = str(doc.get("id", ""))
    alias = base64.urlsafe_b64encode(alert_id.encode()).decode()
    headers = {"Authorization": f"GenieKey {server.api_key}"}
    message = str(doc.get("message", ""))
    level = str(doc.get("level", ""))
    if level == "OK":
        action = o.recovery_action or server.recovery_action
        if action not in RECOVERY_ACTIONS:
            action = "notes"
        url = f"{server.url.rstrip('/')}/{alias}/{action}?identifierType=alias"
        return Request(url, orjson.dumps({"note": message}), headers=headers)
    details = {
        "Monitoring Tool": "Kapacitor",
        "Level": level,
        "Kapacitor Plugin": doc.get("plugin"),
    }
    details |= {str(k): str(v) for k, v in (doc.get("tags") or {}).items()}
    body: dict[str, Any] = {
        "alias": alias,
        "description": event.data.decode(),
        "details": details,
        "entity": alert_id,
        "message": message,
        "note": "",
        "priority": PRIORITY.get(level, "P5"),
    }
    responders = [{"name": t, "type": "team"} for t in o.teams_list or _listed(server.teams)]
    responders += [
        {"type": "user", "username": r} for r in o.recipients_list or _listed(server.recipients)
    ]
    if responders:
        body["responders"] = responders
    return Request(server.url, orjson.dumps(body), headers=headers)
