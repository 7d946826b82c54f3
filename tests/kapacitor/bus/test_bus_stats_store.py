"""Counters per plugin and partition on a real nats-server: summed when read, with what was
counted before partitions; deleted together."""

from __future__ import annotations

import asyncio

import msgspec

from kapacitor.bus import subjects
from kapacitor.bus.client import kv_bucket, setup
from kapacitor.bus.plugin_store import StatsStore
from kapacitor.plugins import PluginStats


async def test_partition_counters_add_up_with_those_from_before_partitions(nats_url: str) -> None:
    nc, js = await setup(nats_url, "test")
    try:
        kv = await kv_bucket(js, subjects.STATS_BUCKET)
        stats = StatsStore(js, kv)
        assert await stats.get("a.b") == PluginStats(plugin="a.b")
        assert await stats.all() == {}
        old = PluginStats(plugin="a.b", revision=1, points_processed=100, last_point_time=5)
        await kv.put(subjects.token("a.b"), msgspec.json.encode(old))
        await stats.put(3, PluginStats(plugin="a.b", revision=2, points_processed=7, errors=1))
        await stats.put(
            17, PluginStats(plugin="a.b", revision=3, points_processed=5, last_error="x")
        )
        await stats.put(3, PluginStats(plugin="other", revision=1, instances=4))
        got = await stats.get("a.b")
        assert (got.points_processed, got.errors, got.last_point_time) == (112, 1, 5)
        assert (got.revision, got.last_error) == (2, "x")  # the oldest revision running
        both = await stats.all()
        assert both["a.b"] == got and both["other"].instances == 4
        await stats.delete("a.b")
        assert await stats.get("a.b") == PluginStats(plugin="a.b")
        assert set(await stats.all()) == {"other"}
    finally:
        await nc.close()


async def test_a_followed_store_reads_from_memory_what_the_server_holds(nats_url: str) -> None:
    nc, js = await setup(nats_url, "test")
    kv = await kv_bucket(js, subjects.STATS_BUCKET)
    writer, reader = StatsStore(js, kv), StatsStore(js, kv)
    try:
        old = PluginStats(plugin="f.x", revision=1, points_processed=100)
        await kv.put(subjects.token("f.x"), msgspec.json.encode(old))
        await writer.put(3, PluginStats(plugin="f.x", revision=2, points_processed=7))
        reader.follow()

        async def caught_up(name: str, points: int) -> bool:
            for _ in range(200):
                if reader._live and (await reader.get(name)).points_processed == points:
                    return True
                await asyncio.sleep(0.01)
            return False

        assert await caught_up("f.x", 107)  # the initial values, legacy key included
        await writer.put(4, PluginStats(plugin="f.x", revision=2, points_processed=3))
        assert await caught_up("f.x", 110)  # and what changes after
        assert (await reader.all())["f.x"] == await writer.get("f.x")
        await writer.delete("f.x")
        assert await caught_up("f.x", 0)
        assert "f.x" not in await reader.all()
    finally:
        await reader.close()
        await nc.close()
