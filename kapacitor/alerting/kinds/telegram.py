"""kind: telegram — the message through a bot's sendMessage (`[telegram] url` + token), to
`chat-id` (Kapacitor's telegram handler: the flags are on when the handler or the server
sets them; unset ones are left out)."""

from __future__ import annotations

from typing import Any

import orjson

from kapacitor.alerting.kinds.base import Event, Options
from kapacitor.alerting.kinds.http import Request, unset
from kapacitor.config import Config

PARSE_MODES = ("markdown", "html")


class TelegramOptions(
    Options, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="kebab"
):
    chat_id: str = ""  # "": [telegram] chat-id
    parse_mode: str = ""  # Markdown or HTML; "": [telegram] parse-mode
    disable_web_page_preview: bool = False
    disable_notification: bool = False

    def check(self) -> None:
        super().check()
        if self.parse_mode and self.parse_mode.lower() not in PARSE_MODES:
            raise ValueError(f"parse-mode must be Markdown or HTML, got {self.parse_mode!r}")


def telegram_request(event: Event, o: TelegramOptions, cfg: Config) -> Request:
    server = cfg.telegram
    if not server.token:
        raise unset("telegram", "telegram.token")
    body: dict[str, Any] = {
        "chat_id": o.chat_id or server.chat_id,
        "text": str(event.doc.get("message", "")),
    }
    parse_mode = o.parse_mode or server.parse_mode
    if parse_mode:
        body["parse_mode"] = parse_mode
    if o.disable_web_page_preview or server.disable_web_page_preview:
        body["disable_web_page_preview"] = True
    if o.disable_notification or server.disable_notification:
        body["disable_notification"] = True
    url = f"{server.url}{server.token}/sendMessage"
    return Request(url, orjson.dumps(body, option=orjson.OPT_SORT_KEYS))
