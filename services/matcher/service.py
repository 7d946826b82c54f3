"""Matcher: point batches from the POINTS stream, split per enabled plugin (--from, --where,
--db/--rp) and published to each plugin's subject on the MATCHED stream."""

from __future__ import annotations

import asyncio
import logging

from kapacitor.bus import subjects
from kapacitor.bus.client import kv_bucket, open_bus
from kapacitor.bus.interface import Delivery
from kapacitor.bus.plugin_store import PluginStore
from kapacitor.config import Config
from kapacitor.daemon.service import run_service
from kapacitor.errors import KapacitorError
from kapacitor.match.router import ROUTING_MESSAGE, PluginRoute, route, routes_for
from kapacitor.model import decode_batch, encode_batch
from kapacitor.plugins import PluginDefinition

log = logging.getLogger("kapacitor.matcher")


async def serve(cfg: Config, stop: asyncio.Event) -> None:
    bus = await open_bus(cfg.nats_url, "kapacitor-matcher")
    store = PluginStore(await kv_bucket(bus.js, subjects.PLUGINS_BUCKET))
    routes: list[PluginRoute] = []
    ready = asyncio.Event()

    async def on_change(defs: dict[str, PluginDefinition]) -> None:
        nonlocal routes
        routes = routes_for(d for d in defs.values() if d.enabled)
        log.info(ROUTING_MESSAGE, len(routes))
        ready.set()

    watch = asyncio.create_task(store.watch(on_change))
    await ready.wait()

    async def handle(msg: Delivery) -> None:
        try:
            batch = decode_batch(msg.data)
        except KapacitorError as e:
            log.error("dropping undecodable message %s: %s", msg.sequence, e)
            await msg.term()
            return
        for plugin, sub in route(batch, routes).items():
            await bus.store(
                subjects.plugin_points(plugin), encode_batch(sub), stream=subjects.MATCHED_STREAM
            )
        await msg.ack()

    log.info("matcher ready")
    fetch_batch = cfg.matcher.fetch_batch
    await bus.consume(subjects.POINTS_STREAM, subjects.MATCHER_CONSUMER, fetch_batch, stop, handle)
    await bus.close(watch)


def main() -> None:
    run_service("matcher", serve)
