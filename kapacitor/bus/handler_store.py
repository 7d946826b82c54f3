"""Topic handler definitions and their counters in JetStream KV (keys `<topic>.<id>`), and the
durable ALERTS consumer that feeds each handler.

The consumer is created when the handler is defined, before its definition is stored: from
the moment `define-topic-handler` answers, every event of its topic is kept for it, whether or
not a notifier runs yet. Deleting a handler deletes its consumer.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

import msgspec
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, DeliverPolicy
from nats.js.errors import KeyNotFoundError, NoKeysError, NotFoundError
from nats.js.kv import KeyValue

from kapacitor.alerting.topic_handlers import (
    HandlerStats,
    TopicHandler,
    decode_handler,
    encode_handler,
)
from kapacitor.bus import subjects
from kapacitor.bus.calls import on_bus
from kapacitor.bus.client import ACK_WAIT_S, NATS_ERRORS, kv_values, pull_config, watch_bucket
from kapacitor.errors import BusError, Conflict, HandlerNotFound

log = logging.getLogger("kapacitor.handlers")

HANDLER_MAX_PENDING = 64  # events of one handler delivered and not yet acknowledged


class HandlerStore:
    def __init__(self, js: JetStreamContext, kv: KeyValue, stats: KeyValue) -> None:
        self.js = js
        self.kv = kv
        self.stats_kv = stats

    async def define(self, spec: TopicHandler) -> bool:
        """Store `spec` (a new handler, or a new version of one); whether it is new."""
        durable = subjects.handler_consumer(spec.topic, spec.id)
        try:
            await self.js.consumer_info(subjects.ALERTS_STREAM, durable)
            new = False
        except NotFoundError:
            config = pull_config(
                durable,
                subjects.handler_events(spec.topic, spec.plugin),
                ACK_WAIT_S,
                HANDLER_MAX_PENDING,
            )
            config.deliver_policy = DeliverPolicy.NEW
            config.ack_policy = AckPolicy.ALL
            await on_bus(self.js.add_consumer(subjects.ALERTS_STREAM, config), "adding consumer")
            new = True
        except NATS_ERRORS as e:
            raise BusError(f"reading consumer {durable}: {e}") from e
        key = subjects.handler_key(spec.topic, spec.id)
        await on_bus(self.kv.put(key, encode_handler(spec)), f"storing handler {key}")
        return new

    async def find(self, topic: str, handler_id: str) -> TopicHandler | None:
        try:
            return await self.get(topic, handler_id)
        except HandlerNotFound:
            return None

    async def define_owned(self, plugin: str, specs: Sequence[TopicHandler]) -> None:
        """Store the handlers plugin `plugin` attaches (before the plugin: an event of its
        new definition finds them); Conflict when one would replace a handler defined
        by hand or by another plugin."""
        olds = [await self.find(spec.topic, spec.id) for spec in specs]
        for spec, old in zip(specs, olds, strict=True):
            if old is not None and old.plugin != plugin:
                owner = old.owner or "define-topic-handler"
                raise Conflict(
                    f"topic {spec.topic!r} already has a handler {spec.id!r}, defined by {owner}"
                )
        for spec, old in zip(specs, olds, strict=True):
            if old != spec:
                await self.define(spec)

    async def delete_owned(self, plugin: str, keep: Sequence[TopicHandler] = ()) -> None:
        """Delete the handlers plugin `plugin` attached and attaches no more."""
        kept = {(s.topic, s.id) for s in keep}
        for spec in await self.list():
            if spec.plugin == plugin and (spec.topic, spec.id) not in kept:
                await self.delete(spec.topic, spec.id)

    async def get(self, topic: str, handler_id: str) -> TopicHandler:
        key = subjects.handler_key(topic, handler_id)
        try:
            entry = await on_bus(
                self.kv.get(key), f"reading handler {key}", missing=(KeyNotFoundError,)
            )
        except KeyNotFoundError:
            entry = None
        if entry is None or not entry.value:
            raise HandlerNotFound(f"no handler {handler_id!r} on topic {topic!r}")
        return decode_handler(entry.value)

    async def list(self, topic: str = "") -> list[TopicHandler]:
        specs = [decode_handler(v) for v in await kv_values(self.kv)]
        return sorted(
            (s for s in specs if not topic or s.topic == topic), key=lambda s: (s.topic, s.id)
        )

    async def delete(self, topic: str, handler_id: str) -> None:
        await self.get(topic, handler_id)
        key = subjects.handler_key(topic, handler_id)
        await on_bus(self.kv.purge(key), f"deleting handler {key}")
        try:
            await self.js.delete_consumer(
                subjects.ALERTS_STREAM, subjects.handler_consumer(topic, handler_id)
            )
        except NotFoundError:
            pass
        except NATS_ERRORS as e:
            log.warning("handler %s deleted, its consumer not yet: %s", key, e)
        try:
            await self.stats_kv.purge(key)
        except NATS_ERRORS as e:
            log.warning("handler %s deleted, its counters not yet: %s", key, e)

    async def put_stats(self, stats: HandlerStats) -> None:
        key = subjects.handler_key(stats.topic, stats.id)
        await on_bus(self.stats_kv.put(key, msgspec.json.encode(stats)), f"putting stats {key}")

    async def stats(self, topic: str, handler_id: str) -> HandlerStats:
        key = subjects.handler_key(topic, handler_id)
        try:
            entry = await self.stats_kv.get(key)
        except (KeyNotFoundError, NoKeysError):
            entry = None
        if entry is None or not entry.value:
            return HandlerStats(topic=topic, id=handler_id)
        return msgspec.json.decode(entry.value, type=HandlerStats)

    async def watch(
        self, on_change: Callable[[dict[tuple[str, str], TopicHandler]], Awaitable[None]]
    ) -> None:
        """Call `on_change(all handlers by (topic, id))` at start and after every change,
        forever; the watcher is restarted when it fails (a missed change would leave a
        handler running that was deleted)."""
        await watch_bucket(
            self.kv, subjects.handler_from_key, decode_handler, on_change, "topic handler"
        )
