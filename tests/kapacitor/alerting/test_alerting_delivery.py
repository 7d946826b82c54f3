"""AlertDelivery against a real HTTP receiver and a real alert log file."""

from __future__ import annotations

import json
from pathlib import Path

from kapacitor.alerting.delivery import AlertDelivery
from kapacitor.testing.receivers import WebhookReceiver


async def test_events_reach_the_log_and_the_plugin_webhook_else_the_default(
    tmp_path: Path,
) -> None:
    log = tmp_path / "alerts.log"
    with WebhookReceiver() as default, WebhookReceiver() as own:
        delivery = AlertDelivery(log, default.url, 2.0)
        delivery.send([b'{"id": "a"}', b'{"id": "b"}'], own.url)
        delivery.send([b'{"id": "c"}'], "")
        assert delivery.webhook(own.url) is delivery.webhook(own.url)  # one per URL
        await delivery.close()
        assert own.bodies == [{"id": "a"}, {"id": "b"}]
        assert default.bodies == [{"id": "c"}]
    lines = log.read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["a", "b", "c"]


async def test_no_log_and_no_webhook_deliver_nowhere(tmp_path: Path) -> None:
    delivery = AlertDelivery(None, "", 1.0)
    assert delivery.webhook("") is None
    delivery.send([b'{"id": "a"}'], "")
    await delivery.close()
    assert list(tmp_path.iterdir()) == []


async def test_suppressed_events_are_logged_but_not_posted(tmp_path: Path) -> None:
    log = tmp_path / "alerts.log"
    sent = b'{"id": "a", "tags": {"suppressed": "x"}, "suppressed":null}'
    kept = b'{"id": "b", "suppressed":"no_recoveries"}'
    with WebhookReceiver() as hook:
        delivery = AlertDelivery(log, hook.url, 2.0)
        await delivery.deliver([("1", sent), ("2", kept)], "")
        delivery.send([kept, sent], "")
        await delivery.close()
        assert [b["id"] for b in hook.bodies] == ["a", "a"]
    assert [json.loads(line)["id"] for line in log.read_text().splitlines()] == ["a", "b", "b", "a"]
