"""kind: discord — one embed coloured by level to the webhook of `[discord] url` (Kapacitor's
discord handler): the message as its description, `embed-title` (a template) as its title,
the event time when `[discord] timestamp` is on."""

from __future__ import annotations

import orjson

from kapacitor.alerting.kinds.base import Event, Options, render
from kapacitor.alerting.kinds.http import Request, unset
from kapacitor.config import Config

COLORS = {"CRITICAL": 0xF95F53, "WARNING": 0xF48D38}  # else 0x7A65F2


class DiscordOptions(
    Options, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="kebab"
):
    username: str = ""  # "": [discord] username
    avatar_url: str = ""  # "": [discord] avatar-url
    embed_title: str = ""  # a template over the event, e.g. "{level}: {host}"


def discord_request(event: Event, o: DiscordOptions, cfg: Config) -> Request:
    server = cfg.discord
    if not server.url:
        raise unset("discord", "discord.url")
    embed = {
        "color": COLORS.get(str(event.doc.get("level")), 0x7A65F2),
        "title": render(o.embed_title, event.doc) if o.embed_title else "",
        "description": str(event.doc.get("message", "")),
        "timestamp": str(event.doc.get("time", "")) if server.timestamp else "",
    }
    body = {
        "avatar_url": o.avatar_url or server.avatar_url,
        "embeds": [embed],
        "username": o.username or server.username,
    }
    return Request(server.url, orjson.dumps(body))
