"""Each topic's alerts as they stand: the last event of every alert (by event id) that ever
sent one to the topic, in JetStream KV (keys `<topic>.<event id>`), written by the notifier
before it acknowledges the events, read by the API (`kapacitor list topics`, `show-topic`).
A topic's level is the highest level of its alerts, as in Kapacitor."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

from kapacitor.bus import subjects
from kapacitor.bus.calls import on_bus
from kapacitor.bus.client import kv_items
from kapacitor.engine.alert import LEVELS

PUTS_AT_ONCE = 64


def topic_level(events: Iterable[Mapping[str, Any]]) -> str:
    """The highest level of a topic's alerts (OK for none)."""
    codes = [LEVELS.index(e["level"]) for e in events if e.get("level") in LEVELS]
    return LEVELS[max(codes, default=0)]


class TopicStore:
    def __init__(self, js: JetStreamContext, kv: KeyValue) -> None:
        self.js = js
        self.kv = kv

    async def record(self, docs: Iterable[Mapping[str, Any]]) -> int:
        """Keep the last of `docs` (event documents, in order) per topic and alert; how many
        alerts that wrote."""
        latest: dict[str, Mapping[str, Any]] = {}
        for d in docs:
            topic = d.get("topic")
            if topic:
                latest[f"{subjects.token(topic)}.{subjects.token(str(d.get('id', '')))}"] = d
        items = list(latest.items())
        for i in range(0, len(items), PUTS_AT_ONCE):
            await asyncio.gather(
                *(
                    on_bus(self.kv.put(key, orjson.dumps(doc)), f"recording topic event {key}")
                    for key, doc in items[i : i + PUTS_AT_ONCE]
                )
            )
        return len(items)

    async def events(self, topic: str = "") -> dict[str, list[dict[str, Any]]]:
        """The last event of each alert, by topic (of `topic` only, when given), newest
        first."""
        pattern = f"{subjects.token(topic)}.>" if topic else ">"
        out: dict[str, list[dict[str, Any]]] = {}
        items = kv_items(self.js, subjects.TOPICS_BUCKET, self.kv, pattern)
        for _, value in await on_bus(items, "reading topics"):
            doc = orjson.loads(value)
            out.setdefault(str(doc.get("topic", "")), []).append(doc)
        for events in out.values():
            events.sort(key=lambda d: int(d.get("time_ns") or 0), reverse=True)
        return out

    async def delete(self, topic: str) -> int:
        """Forget a topic's alerts; how many."""
        events = (await self.events(topic)).get(topic, [])
        for d in events:
            await on_bus(
                self.kv.purge(f"{subjects.token(topic)}.{subjects.token(str(d.get('id', '')))}"),
                "deleting topic event",
            )
        return len(events)
