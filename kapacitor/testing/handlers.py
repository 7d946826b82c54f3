"""Driving a topic handler kind in tests: defined as `define-topic-handler` would (so its
options are checked), then its sender given events."""

from __future__ import annotations

from typing import Any

from kapacitor.alerting.kinds.base import Event
from kapacitor.alerting.kinds.registry import KINDS
from kapacitor.alerting.topic_handlers import check_handler
from kapacitor.config import Config


async def send_events(kind: str, options: dict[str, Any], cfg: Config, *events: Event) -> None:
    spec = check_handler({"id": "h", "topic": "cpu", "kind": kind, "options": options})
    sender = KINDS[kind].sender(spec.parsed_options(), cfg)
    try:
        for e in events:
            await sender.send(e)
    finally:
        await sender.close()
