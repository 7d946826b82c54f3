"""The matcher's whole loop (`serve`) in-process on a real nats-server: batches consumed from
POINTS reach the MATCHED stream split per enabled plugin."""

from __future__ import annotations

import asyncio

import numpy as np

from kapacitor.bus import subjects
from kapacitor.bus.client import kv_bucket, open_bus
from kapacitor.bus.plugin_store import PluginStore
from kapacitor.config import Config
from kapacitor.match.partition import partition_of
from kapacitor.model import Column, FieldType, PointBatch, SeriesKey, decode_batch, encode_batch
from kapacitor.plugins import PluginDefinition
from services.matcher.service import serve


def points() -> PointBatch:
    series = [SeriesKey("cpu", (("host", "a"),)), SeriesKey("cpu", (("host", "b"),))]
    return PointBatch(
        "telegraf",
        "autogen",
        series,
        np.array([0, 1, 0], np.int32),
        np.array([1, 2, 3], np.int64),
        {"v": Column(FieldType.FLOAT, np.array([1.0, 2.0, 3.0]))},
    )


async def test_serve_routes_points_to_enabled_plugins(cfg: Config) -> None:
    bus = await open_bus(cfg.nats_url, "test")
    plugins = PluginStore(await kv_bucket(bus.js, subjects.PLUGINS_BUCKET))
    for name, where, on in (("a", "host = 'a'", True), ("off", "", False)):
        await plugins.put(
            PluginDefinition(name=name, from_="cpu", script="v", where=where, enabled=on)
        )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(cfg, stop))
    try:
        await bus.store(subjects.POINTS_IN, encode_batch(points()), stream=subjects.POINTS_STREAM)
        for _ in range(200):  # the matcher acks the batch once it published all it routed
            consumer = await bus.js.consumer_info(subjects.POINTS_STREAM, subjects.MATCHER_CONSUMER)
            if consumer.ack_floor is not None and consumer.ack_floor.stream_seq:
                break
            await asyncio.sleep(0.05)
        p = partition_of("a", "cpu,host=a", cfg.cluster.partitions)
        subject = subjects.matched_points(p, "a")
        got = await bus.js.get_last_msg(subjects.MATCHED_STREAM, subject)
        assert decode_batch(got.data or b"").time.tolist() == [1, 3]
        info = await bus.js.stream_info(subjects.MATCHED_STREAM)
        assert info.state.messages == 1  # nothing for the disabled plugin
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await bus.close()


async def test_messages_from_before_partitions_are_split_into_partitions(cfg: Config) -> None:
    """An upgrade finds matched batches of the old form (kapacitor.plugin.<plugin>) on MATCHED:
    the matcher moves each instance's rows to its partition, in order, and acks the old one."""
    bus = await open_bus(cfg.nats_url, "test")
    plugins = PluginStore(await kv_bucket(bus.js, subjects.PLUGINS_BUCKET))
    await plugins.put(PluginDefinition(name="a", from_="cpu", script="v", enabled=True))
    for _ in range(2):
        await bus.store(
            "kapacitor.plugin.a", encode_batch(points()), stream=subjects.MATCHED_STREAM
        )
    await bus.store("kapacitor.plugin.gone", encode_batch(points()), stream=subjects.MATCHED_STREAM)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(cfg, stop))
    try:
        by_host: dict[str, list[int]] = {}
        for _ in range(200):
            info = await bus.js.stream_info(
                subjects.MATCHED_STREAM, subjects_filter=subjects.MATCHED_LEGACY_ALL
            )
            if not info.state.subjects:
                break
            await asyncio.sleep(0.05)
        for host in ("a", "b"):
            p = partition_of("a", f"cpu,host={host}", cfg.cluster.partitions)
            psub = await bus.js.pull_subscribe(subjects.matched_points(p, "a"), f"t{host}")
            for m in await psub.fetch(10, timeout=2):
                batch = decode_batch(m.data)
                by_host.setdefault(host, []).extend(
                    t
                    for t, s in zip(batch.time.tolist(), batch.series_idx.tolist(), strict=True)
                    if str(batch.series[s]) == f"cpu,host={host}"
                )
                await m.ack_sync()
        assert by_host == {"a": [1, 3, 1, 3], "b": [2, 2]}
        info = await bus.js.stream_info(subjects.MATCHED_STREAM)
        assert info.state.messages == 0  # the plugin that is gone: its message dropped
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await bus.close()
