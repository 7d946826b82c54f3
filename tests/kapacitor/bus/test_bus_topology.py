"""The shared topology against a real nats-server."""

from __future__ import annotations

from kapacitor.bus import subjects
from kapacitor.bus.client import kv_bucket, setup
from kapacitor.bus.plugin_store import PluginStore, StatsStore
from kapacitor.plugins import PluginDefinition, PluginStats


async def test_topology_is_idempotent_and_plugins_round_trip(nats_url: str) -> None:
    nc, js = await setup(nats_url, "test")
    nc2, js2 = await setup(nats_url, "test2")  # a second service declaring the same topology
    try:
        names = {s.config.name for s in await js.streams_info()}
        assert {subjects.POINTS_STREAM, subjects.MATCHED_STREAM, subjects.ALERTS_STREAM} <= names
        store = PluginStore(await kv_bucket(js, subjects.PLUGINS_BUCKET))
        d = PluginDefinition(name="a.b", from_="cpu", script="alert(value, >, 1)", enabled=True)
        await store.put(d)
        assert await store.get("a.b") == d
        assert [x.name for x in await store.list()] == ["a.b"]
        await store.delete("a.b")
        assert await store.list() == []
        stats = StatsStore(await kv_bucket(js2, subjects.STATS_BUCKET))
        await stats.put(PluginStats(plugin="a.b", points_processed=3))
        assert (await stats.get("a.b")).points_processed == 3
    finally:
        await nc.close()
        await nc2.close()
