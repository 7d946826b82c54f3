"""Interpreter: matched batches from the MATCHED stream through each plugin's runtime; alert
events to the alert log, webhooks and the ALERTS stream; counters to the stats bucket."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import msgspec

from kapacitor.alerting.delivery import AlertDelivery
from kapacitor.alerting.document import event_json
from kapacitor.bus import subjects
from kapacitor.bus.client import kv_bucket, open_bus
from kapacitor.bus.interface import Delivery
from kapacitor.bus.plugin_store import PluginStore, StatsStore
from kapacitor.bus.state_store import StateStore, state_bucket
from kapacitor.clock import SystemClock
from kapacitor.config import Config
from kapacitor.daemon.service import run_service
from kapacitor.engine import AlertEvent
from kapacitor.errors import KapacitorError
from kapacitor.host import PluginHost
from kapacitor.model import PointBatch, decode_batch
from kapacitor.plugins import PluginDefinition

log = logging.getLogger("kapacitor.interpreter")


async def serve(cfg: Config, stop: asyncio.Event) -> None:
    bus = await open_bus(cfg.nats_url, "kapacitor-interpreter")
    js = bus.js
    store = PluginStore(await kv_bucket(js, subjects.PLUGINS_BUCKET))
    stats_store = StatsStore(await kv_bucket(js, subjects.STATS_BUCKET))
    clock = SystemClock()
    host = PluginHost(
        clock,
        cfg.interpreter.expire.ns,
        cfg.interpreter.max_instances,
    )
    ready = asyncio.Event()
    delivery = AlertDelivery(
        cfg.alert_log, cfg.alert.webhook_url, cfg.alert.webhook_timeout.seconds
    )

    state_store = StateStore(await state_bucket(js))

    # Counters and plugin state survive restarts: start from what was last saved.
    for d in await store.list():
        host.stats[d.name] = await stats_store.get(d.name)
        if d.enabled:
            await load_state(state_store, host, d.name)

    async def on_change(defs: dict[str, PluginDefinition]) -> None:
        for name in defs:
            if name not in host.stats:
                host.stats[name] = await stats_store.get(name)
        for name in host.sync(defs.values()):
            await state_store.delete(name)
        ready.set()

    async def publish_stats() -> None:
        interval = cfg.interpreter.stats_interval.seconds
        while True:
            await asyncio.sleep(interval)
            for s in host.take_dirty():
                await stats_store.put(msgspec.structs.replace(s))

    async def save_state() -> None:
        for name, fingerprint, snapshot in host.state_changes():
            await state_store.save(name, fingerprint, snapshot)

    async def save_state_periodically() -> None:
        interval = cfg.interpreter.state_interval.seconds
        while True:
            await asyncio.sleep(interval)
            await save_state()

    watch = asyncio.create_task(store.watch(on_change))
    await ready.wait()
    stats_task = asyncio.create_task(publish_stats())
    state_task = asyncio.create_task(save_state_periodically())

    async def handle(msgs: Sequence[Delivery]) -> None:
        # One fetch's batches per plugin, in stream order: a partition holds whole instances
        # and the stream keeps each partition's order, so joining keeps every instance's.
        per_plugin: dict[str, list[PointBatch]] = {}
        for msg in msgs:
            plugin = subjects.plugin_from_subject(msg.subject)
            try:
                batch = decode_batch(msg.data)
            except KapacitorError as e:
                log.error("plugin %s: dropping message: %s", plugin, e)
                await msg.term()
                continue
            per_plugin.setdefault(plugin, []).append(batch)
        for plugin, batches in per_plugin.items():
            await deliver(plugin, host.process_joined(plugin, batches, join_rows))

    async def timers() -> None:
        """deadman() checks run on the wall clock, whether points arrive or not."""
        while True:
            await asyncio.sleep(1.0)
            for plugin, events in host.tick(clock.now_ns()):
                await deliver(plugin, events)

    async def deliver(plugin: str, events: list[AlertEvent]) -> None:
        if events:
            slot = host.slots.get(plugin)
            docs = [event_json(ev) for ev in events]
            delivery.send(docs, slot.definition.webhook if slot else "")
            for doc in docs:
                # A core publish, captured by the ALERTS stream: awaiting a JetStream ack
                # per event would stall the interpreter during an alert storm.
                await bus.publish(subjects.plugin_alerts(plugin), doc)

    join_rows = cfg.interpreter.join_rows
    timer_task = asyncio.create_task(timers())
    log.info("interpreter ready")
    fetch_batch = cfg.interpreter.fetch_batch
    await bus.consume_batches(
        subjects.MATCHED_STREAM,
        subjects.INTERPRETER_CONSUMER,
        fetch_batch,
        stop,
        handle,
        wait=cfg.interpreter.join_wait.seconds,
    )
    watch.cancel()
    stats_task.cancel()
    timer_task.cancel()
    state_task.cancel()
    for s in host.take_dirty():
        await stats_store.put(s)
    await save_state()  # a clean stop loses no window or alert state
    await delivery.close()
    await bus.close(watch, stats_task, timer_task, state_task)


async def load_state(state_store: StateStore, host: PluginHost, name: str) -> None:
    try:
        saved = await state_store.load(name)
    except KapacitorError as e:
        log.error("plugin %s: %s; starting afresh", name, e)
        return
    if saved is not None:
        host.saved[name] = (saved.fingerprint, saved.snapshot)


def main() -> None:
    run_service("interpreter", serve)
