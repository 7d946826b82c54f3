"""Alert history: past alert events, read back from the ALERTS stream (every event any plugin
stored, silenced and suppressed ones too, as long as the stream keeps them: `alert.keep`
messages, each the events of one batch).

The stream is read forward with a short-lived consumer, from the first message stored within
`since` (the server's storage time) or from its start, keeping the newest `limit` events that
pass the filters: one pass, at most `alert.keep` messages, whatever the filters."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from kapacitor.alerting.document import decode_events
from kapacitor.bus import subjects
from kapacitor.bus.calls import on_bus
from kapacitor.errors import CodecError

__all__ = ["AlertStore"]

log = logging.getLogger("kapacitor.alerts")

FETCH = 1000
FETCH_WAIT_S = 1.0
CONSUMER_IDLE_S = 10.0  # an abandoned reader's consumer goes after this long


class AlertStore:
    def __init__(self, js: JetStreamContext) -> None:
        self.js = js

    async def history(
        self,
        *,
        plugin: str = "",
        topic: str = "",
        level: str = "",
        since_ns: int = 0,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """The newest `limit` events (newest first) of `plugin`, `topic` and `level` (each when
        given) stored at or after `since_ns` (0: all the stream holds)."""
        try:
            info = await on_bus(
                self.js.stream_info(subjects.ALERTS_STREAM),
                "reading alert history",
                missing=(NotFoundError,),
            )
        except NotFoundError:
            return []
        last = info.state.last_seq
        if info.state.messages == 0:
            return []
        if topic:
            wanted = (
                subjects.plugin_alerts(plugin, topic) if plugin else subjects.topic_alerts(topic)
            )
        else:
            wanted = subjects.ALERTS_ALL
        config = ConsumerConfig(
            ack_policy=AckPolicy.NONE, inactive_threshold=CONSUMER_IDLE_S, filter_subject=wanted
        )
        if since_ns:
            config.deliver_policy = DeliverPolicy.BY_START_TIME
            config.opt_start_time = datetime.fromtimestamp(since_ns / 1e9, tz=UTC)
        else:
            config.deliver_policy = DeliverPolicy.ALL
        wanted_subject = subjects.plugin_alerts(plugin) if plugin and not topic else None
        kept: deque[dict[str, Any]] = deque(maxlen=limit)
        sub = await on_bus(
            self.js.pull_subscribe(wanted, stream=subjects.ALERTS_STREAM, config=config),
            "reading alert history",
        )
        try:
            done = False
            while not done:
                try:
                    msgs = await sub.fetch(FETCH, timeout=FETCH_WAIT_S)
                except TimeoutError:
                    break
                for m in msgs:
                    meta = m.metadata
                    done = meta.sequence.stream >= last or meta.num_pending == 0
                    if wanted_subject is not None and not _of_plugin(m.subject, wanted_subject):
                        continue
                    kept.extend(_events(m.data, meta.sequence.stream, level))
        finally:
            try:
                await sub.unsubscribe()
            except Exception as e:  # its consumer goes by itself when idle
                log.debug("alert history consumer: %s", e)
        out = list(kept)
        out.reverse()
        return out


def _of_plugin(subject: str, plugin_subject: str) -> bool:
    return subject == plugin_subject or subject.startswith(plugin_subject + ".")


def _events(data: bytes, seq: int, level: str) -> Iterator[dict[str, Any]]:
    try:
        docs = decode_events(data)
    except CodecError as e:  # one unreadable message does not hide the others
        log.error("alert events message %s: %s", seq, e)
        return
    for d in docs:
        if not level or d.get("level") == level:
            yield d
