"""`replay --send-alerts`: a replay's events through the plugin's handlers, at real receivers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from kapacitor.alerting.kinds.base import Event
from kapacitor.alerting.replayed import send_replayed
from kapacitor.alerting.topic_handlers import TopicHandler
from kapacitor.alerting.webhooks import plugin_webhook, server_webhook
from kapacitor.config import load_config
from kapacitor.testing.receivers import WebhookReceiver


def event(n: int, level: str, **extra: Any) -> Event:
    doc = {"id": "cpu:h", "level": level, "plugin": "cpu", **extra}
    return Event(f"replay:r1:{n}", orjson.dumps(doc), doc)


async def test_each_handler_gets_what_it_matches_and_nothing_suppressed(tmp_path: Path) -> None:
    events = [
        event(0, "CRITICAL"),
        event(1, "OK", suppressed="silenced:s1"),
        event(2, "WARNING"),
    ]
    log = tmp_path / "h.log"
    cfg = load_config(env={"KAPACITOR_ALERT_HANDLER_BACKOFF": "10ms"})
    with WebhookReceiver(statuses=[503]) as own, WebhookReceiver() as server:
        picky = TopicHandler(
            id="x", topic="cpu:alert0", kind="log", match="level = 'CRITICAL'",
            options={"path": str(log)}, plugin="cpu",
        )  # fmt: skip
        aggregate = TopicHandler(
            id="a", topic="t", kind="aggregate", options={"interval": "1s", "topic": "u"}
        )
        specs = [
            plugin_webhook("cpu", own.url, "5s"),
            server_webhook(server.url, "5s"),
            picky,
            aggregate,
        ]
        stats = await send_replayed(specs, events, cfg)
        # the first POST answered 503 and was tried again: the receiver saw it twice
        assert own.event_ids == ["replay:r1:0", "replay:r1:0", "replay:r1:2"]
        assert server.event_ids == ["replay:r1:0", "replay:r1:2"]
        assert server.bodies == [events[0].doc, events[2].doc]
    assert [(s.id, s.sent, s.retried, s.suppressed, s.skipped) for s in stats] == [
        ("cpu:webhook", 2, 1, 1, 0),
        ("webhook", 2, 0, 1, 0),
        ("x", 1, 0, 0, 2),
    ]
    assert [orjson.loads(line)["level"] for line in log.read_text().splitlines()] == ["CRITICAL"]
