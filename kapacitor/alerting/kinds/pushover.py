"""kind: pushover — a Pushover message (Kapacitor's pushover handler): a form with the app
`[pushover] token`, the user key, the message and a priority by level (OK -2: no
notification, INFO -1, WARNING 0, CRITICAL 1); the optional fields only when set."""

from __future__ import annotations

from urllib.parse import urlencode

from kapacitor.alerting.kinds.base import Event, Options
from kapacitor.alerting.kinds.http import Request, unset
from kapacitor.config import Config

PRIORITY = {"OK": -2, "INFO": -1, "WARNING": 0, "CRITICAL": 1}
FORM = "application/x-www-form-urlencoded"


class PushoverOptions(
    Options, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="kebab"
):
    user_key: str = ""  # "": [pushover] user-key
    device: str = ""
    title: str = ""
    url: str = ""
    url_title: str = ""
    sound: str = ""


def pushover_request(event: Event, o: PushoverOptions, cfg: Config) -> Request:
    server = cfg.pushover
    if not server.token:
        raise unset("pushover", "pushover.token")
    form = {
        "device": o.device,
        "message": str(event.doc.get("message", "")),
        "priority": str(PRIORITY.get(str(event.doc.get("level")), 0)),
        "sound": o.sound,
        "title": o.title,
        "token": server.token,
        "url": o.url,
        "url_title": o.url_title,
        "user": o.user_key or server.user_key,
    }
    body = urlencode(sorted((k, v) for k, v in form.items() if v)).encode()
    return Request(server.url, body, FORM)
