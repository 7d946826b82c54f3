"""Matcher: point batches from the POINTS stream, split per enabled plugin (--from, --where,
--db/--rp) and per partition, published to the MATCHED stream."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from kapacitor.bus import subjects
from kapacitor.bus.client import NatsBus, kv_bucket, open_bus
from kapacitor.bus.interface import Delivery, Stored
from kapacitor.bus.plugin_store import PluginStore
from kapacitor.clock import SystemClock
from kapacitor.cluster.member import OwnershipChange
from kapacitor.cluster.presence import join
from kapacitor.config import STORE_ACK_TIMEOUT_S, Config
from kapacitor.daemon.service import run_service
from kapacitor.errors import BusError, KapacitorError
from kapacitor.match.fanout import Fanout
from kapacitor.match.router import ROUTING_MESSAGE, routes_for
from kapacitor.model import PointBatch, decode_batch, encode_batch
from kapacitor.plugins import PluginDefinition
from kapacitor.tasks import cancel_and_wait, cancel_soon

log = logging.getLogger("kapacitor.matcher")

LEGACY_BATCH = 64
RETRY_S = 0.5


async def serve(cfg: Config, stop: asyncio.Event) -> None:
    bus = await open_bus(cfg.nats_url, "kapacitor-matcher", cfg.cluster.replicas, cfg.alert.keep)
    store = PluginStore(await kv_bucket(bus.js, subjects.PLUGINS_BUCKET))
    fanout = Fanout(cfg.cluster.partitions, cfg.matcher.join_rows)
    ready = asyncio.Event()

    async def on_change(defs: dict[str, PluginDefinition]) -> None:
        fanout.set_routes(routes_for(d for d in defs.values() if d.enabled))
        log.info(ROUTING_MESSAGE, len(fanout.routes))
        ready.set()

    watch = asyncio.create_task(store.watch(on_change))
    await ready.wait()

    async def handle(msgs: Sequence[Delivery]) -> None:
        inputs: list[tuple[int, PointBatch]] = []
        for msg in msgs:
            try:
                inputs.append((msg.sequence, decode_batch(msg.data)))
            except KapacitorError as e:
                log.error("dropping undecodable message %s: %s", msg.sequence, e)
                await msg.term()
        out = [
            Stored(
                subjects.matched_points(s.partition, s.plugin),
                encode_batch(s.batch),
                subjects.matched_msg_id(s.first_seq, s.last_seq, s.partition, s.plugin)
                if s.named
                else "",
            )
            for s in fanout.split(inputs)
        ]
        # The inputs are acked once every message is stored; on a failure they come back.
        await bus.store_all(out, stream=subjects.MATCHED_STREAM, timeout=STORE_ACK_TIMEOUT_S)

    legacy = asyncio.create_task(split_legacy(bus, fanout))

    async def consume() -> None:
        while not stop.is_set():
            try:
                await bus.consume_batches(
                    subjects.POINTS_STREAM,
                    subjects.MATCHER_CONSUMER,
                    cfg.matcher.fetch_batch,
                    stop,
                    handle,
                    wait=cfg.matcher.join_wait.seconds,
                )
            except BusError as e:  # e.g. a NATS cluster electing a leader: the batch comes back
                log.warning("matching failed, retrying: %s", e)
                await asyncio.sleep(RETRY_S)

    # One matcher is active (the holder of the lease matcher.0), so an instance's points are
    # split in the order they were written; the others stand by (docs/cluster.md).
    active: list[asyncio.Task[None]] = []

    def on_lease(change: OwnershipChange) -> None:
        if change.gained and not active:
            log.info("matcher active")
            active.append(asyncio.create_task(consume()))
        if change.lost and active:
            cancel_soon(active.pop())

    async def wind_up(_: int) -> None:
        while active:  # its unacknowledged inputs are nak'ed: they come back at once
            await cancel_and_wait(active.pop())

    member = await join(
        bus.js, cfg, "matcher", SystemClock(), partitions=1, on_change=on_lease,
        before_release=wind_up,
    )  # fmt: skip
    log.info("matcher ready")
    await stop.wait()
    await member.leave()
    await bus.close(watch, legacy)


async def split_legacy(bus: NatsBus, fanout: Fanout) -> None:
    """Split what an upgrade finds on MATCHED from before partitions (one message per plugin,
    kapacitor.plugin.<plugin>) into partitions, each input acked once its parts are stored."""
    puller = await bus.fresh_consumer(
        subjects.MATCHED_STREAM,
        subjects.LEGACY_CONSUMER,
        subjects.MATCHED_LEGACY_ALL,
        ack_wait=60.0,
        max_pending=LEGACY_BATCH,
    )
    moved = 0
    while got := await puller.fetch(LEGACY_BATCH):
        for msg in got:
            plugin = subjects.plugin_from_subject(msg.subject)
            try:
                parts = fanout.split_plugin(plugin, decode_batch(msg.data))
            except KapacitorError as e:
                log.error("dropping undecodable message %s: %s", msg.sequence, e)
                await msg.term()
                continue
            out = [
                Stored(
                    subjects.matched_points(p, plugin),
                    encode_batch(batch),
                    subjects.matched_msg_id(msg.sequence, msg.sequence, p, f"legacy.{plugin}"),
                )
                for p, batch in parts.items()
            ]
            await bus.store_all(out, stream=subjects.MATCHED_STREAM, timeout=STORE_ACK_TIMEOUT_S)
            await msg.ack()
            moved += 1
    await puller.close()
    await bus.delete_consumer(subjects.MATCHED_STREAM, subjects.LEGACY_CONSUMER)
    if moved:
        log.info("split %d message(s) from before partitions into partitions", moved)


def main() -> None:
    run_service("matcher", serve)
