"""The shared topology against a real nats-server."""

from __future__ import annotations

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StreamConfig

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
        stats = StatsStore(js2, await kv_bucket(js2, subjects.STATS_BUCKET))
        await stats.put(0, PluginStats(plugin="a.b", points_processed=3))
        assert (await stats.get("a.b")).points_processed == 3
    finally:
        await nc.close()
        await nc2.close()


async def test_an_older_matched_stream_keeps_its_messages_and_loses_its_consumer(
    nats_url: str,
) -> None:
    """A MATCHED stream and interpreter consumer as a kapacitord from before partitions made
    them, holding a message: the topology adds the partitions' subjects, keeps the message (the
    matcher splits it, tests/services/matcher) and deletes the one consumer, whose filter
    would overlap the partitions' consumers."""
    old = await nats.connect(nats_url)
    ojs = old.jetstream()
    await ojs.add_stream(
        StreamConfig(
            name=subjects.MATCHED_STREAM,
            subjects=[subjects.MATCHED_LEGACY_ALL],
            retention=RetentionPolicy.WORK_QUEUE,
        )
    )
    await ojs.add_consumer(
        subjects.MATCHED_STREAM,
        ConsumerConfig(
            durable_name=subjects.INTERPRETER_CONSUMER,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=60.0,
            max_ack_pending=256,
            max_waiting=64,
        ),
    )
    await ojs.publish("kapacitor.plugin.cpu", b"old", stream=subjects.MATCHED_STREAM)
    await old.close()

    nc, js = await setup(nats_url, "test")
    try:
        info = await js.stream_info(subjects.MATCHED_STREAM)
        assert info.config.subjects == [subjects.MATCHED_ALL, subjects.MATCHED_LEGACY_ALL]
        assert info.state.messages == 1
        assert [c.name for c in await js.consumers_info(subjects.MATCHED_STREAM)] == []
    finally:
        await nc.close()


async def test_lost_streams_and_buckets_are_made_again_and_said_so(
    nats_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    nc, js = await setup(nats_url, "test")
    try:
        assert not [r for r in caplog.records if "missing" in r.getMessage()]  # a first start
        await js.delete_stream(subjects.ALERTS_STREAM)
        await js.delete_key_value(subjects.PLUGINS_BUCKET)
        nc2, _ = await setup(nats_url, "test2")
        await nc2.close()
        (warning,) = [r for r in caplog.records if "missing" in r.getMessage()]
        assert warning.getMessage() == (
            f"{subjects.ALERTS_STREAM}, bucket {subjects.PLUGINS_BUCKET} missing from this "
            "deployment: made again, empty (what it held is lost)"
        )
        names = {s.config.name for s in await js.streams_info()}
        assert {subjects.ALERTS_STREAM, f"KV_{subjects.PLUGINS_BUCKET}"} <= names
        await js.consumer_info(subjects.ALERTS_STREAM, subjects.NOTIFIER_CONSUMER)
    finally:
        await nc.close()
