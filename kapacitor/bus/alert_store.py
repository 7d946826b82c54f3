"""Recent alert events, read back from the ALERTS stream (newest last)."""

from __future__ import annotations

import logging
from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from kapacitor.alerting.document import decode_events
from kapacitor.bus import subjects
from kapacitor.errors import CodecError

__all__ = ["SCAN_FACTOR", "AlertStore"]

log = logging.getLogger("kapacitor.alerts")

SCAN_FACTOR = 20  # with a plugin filter, read at most this many events per one returned


class AlertStore:
    def __init__(self, js: JetStreamContext) -> None:
        self.js = js

    async def recent(self, plugin: str = "", limit: int = 100) -> list[dict[str, Any]]:
        """The last `limit` alert documents (of `plugin` only, when given), oldest first.

        The stream is read backwards from its last message, so a narrow filter on a busy
        stream stops after SCAN_FACTOR * limit messages rather than reading all of it.
        """
        try:
            info = await self.js.stream_info(subjects.ALERTS_STREAM)
        except NotFoundError:
            return []
        first, last = info.state.first_seq, info.state.last_seq
        want = subjects.plugin_alerts(plugin) if plugin else None
        out: list[dict[str, Any]] = []
        seq, scanned = last, 0
        while seq >= first and seq > 0 and len(out) < limit and scanned < SCAN_FACTOR * limit:
            scanned += 1
            try:
                m = await self.js.get_msg(subjects.ALERTS_STREAM, seq)
            except NotFoundError:
                seq -= 1
                continue
            subject = m.subject or ""
            if want is None or subject == want or subject.startswith(want + "."):
                try:
                    out += reversed(decode_events(m.data or b""))
                except CodecError as e:  # one unreadable message does not hide the others
                    log.error("alert events message %s: %s", seq, e)
            seq -= 1
        out.reverse()
        return out[-limit:]
