"""kind: slack — a message with one attachment coloured by level, to the incoming webhook of
`[slack] url` (Kapacitor's slack handler and payload)."""

from __future__ import annotations

import orjson

from kapacitor.alerting.kinds.base import Event, Options
from kapacitor.alerting.kinds.http import Request, unset
from kapacitor.config import Config

COLORS = {"WARNING": "warning", "CRITICAL": "danger"}  # else "good"


class SlackOptions(Options, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="kebab"):
    channel: str = ""  # e.g. #alerts or @user; "": [slack] channel
    username: str = ""  # "": [slack] username
    icon_emoji: str = ""  # "": [slack] icon-emoji


def slack_request(event: Event, o: SlackOptions, cfg: Config) -> Request:
    server = cfg.slack
    if not server.url:
        raise unset("slack", "slack.url")
    message = str(event.doc.get("message", ""))
    color = COLORS.get(str(event.doc.get("level")), "good")
    body = {
        "as_user": False,
        "attachments": [
            {"fallback": message, "color": color, "text": message, "mrkdwn_in": ["text"]}
        ],
        "channel": o.channel or server.channel,
        "icon_emoji": o.icon_emoji or server.icon_emoji,
        "text": "",
        "username": o.username or server.username,
    }
    return Request(server.url, orjson.dumps(body))
