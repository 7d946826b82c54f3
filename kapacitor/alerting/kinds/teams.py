"""kind: teams — a MessageCard to a Microsoft Teams incoming webhook (`channel-url`, else
`[teams] channel-url`), titled `LEVEL: [alert id]`, coloured by level (Kapacitor's teams
handler; its summary is cut at 70 characters, with "..." only when cut)."""

from __future__ import annotations

import orjson

from kapacitor.alerting.kinds.base import Event, Options
from kapacitor.alerting.kinds.http import Request, unset
from kapacitor.config import Config

COLORS = {"WARNING": "FFA533", "CRITICAL": "CC4A31"}  # else 34CC25
SUMMARY_MAX = 70


class TeamsOptions(Options, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="kebab"):
    channel_url: str = ""


def teams_request(event: Event, o: TeamsOptions, cfg: Config) -> Request:
    server = cfg.teams
    url = o.channel_url or server.channel_url
    if not url:
        raise unset("teams", "teams.channel-url")
    level = str(event.doc.get("level", ""))
    message = str(event.doc.get("message", ""))
    title = f"{level}: [{event.doc.get('id', '')}]"
    summary = f"{title} - {message}"
    if len(summary) > SUMMARY_MAX:
        summary = summary[:SUMMARY_MAX] + "..."
    card = {
        "@type": "MessageCard",
        "@context": "http://schema.org/extensions",
        "title": title,
        "text": message,
        "summary": summary,
        "themeColor": COLORS.get(level, "34CC25"),
    }
    return Request(url, orjson.dumps(card))
