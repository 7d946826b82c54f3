"""The shared topology against a real nats-server."""

from __future__ import annotations

import nats
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
        stats = StatsStore(await kv_bucket(js2, subjects.STATS_BUCKET))
        await stats.put(PluginStats(plugin="a.b", points_processed=3))
        assert (await stats.get("a.b")).points_processed == 3
    finally:
        await nc.close()
        await nc2.close()


async def test_an_older_matched_stream_is_updated_and_its_messages_still_consumed(
    nats_url: str,
) -> None:
    """A MATCHED stream and interpreter consumer as a kapacitord from before partitions made
    them, holding a message: the topology moves the stream to the new subjects, keeps the
    message for the interpreter, and filters the consumer once the message is consumed."""
    old = await nats.connect(nats_url)
    ojs = old.jetstream()
    legacy = "kapacitor.plugin.cpu"
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
    await ojs.publish(legacy, b"old", stream=subjects.MATCHED_STREAM)
    await old.close()

    nc, js = await setup(nats_url, "test")
    try:
        info = await js.stream_info(subjects.MATCHED_STREAM)
        assert info.config.subjects == [subjects.MATCHED_ALL]
        assert info.state.messages == 1
        await js.publish(subjects.matched_points(3, "cpu"), b"new", stream=subjects.MATCHED_STREAM)
        consumer = await js.consumer_info(subjects.MATCHED_STREAM, subjects.INTERPRETER_CONSUMER)
        assert consumer.config.filter_subject is None  # the old message must still reach it
        psub = await js.pull_subscribe_bind(subjects.INTERPRETER_CONSUMER, subjects.MATCHED_STREAM)
        got = await psub.fetch(2, timeout=5)
        assert [(m.subject, m.data) for m in got] == [
            (legacy, b"old"),
            (subjects.matched_points(3, "cpu"), b"new"),
        ]
        assert [subjects.plugin_from_subject(m.subject) for m in got] == ["cpu", "cpu"]
        for m in got:
            await m.ack()
        await psub.unsubscribe()
        await nc.flush()
    finally:
        await nc.close()
    nc, js = await setup(nats_url, "test")  # the next start: nothing old left
    try:
        consumer = await js.consumer_info(subjects.MATCHED_STREAM, subjects.INTERPRETER_CONSUMER)
        assert consumer.config.filter_subject == subjects.MATCHED_ALL
    finally:
        await nc.close()


async def test_a_new_interpreter_consumer_is_filtered(nats_url: str) -> None:
    nc, js = await setup(nats_url, "test")
    try:
        consumer = await js.consumer_info(subjects.MATCHED_STREAM, subjects.INTERPRETER_CONSUMER)
        assert consumer.config.filter_subject == subjects.MATCHED_ALL
        info = await js.stream_info(subjects.MATCHED_STREAM)
        assert info.config.subjects == [subjects.MATCHED_ALL]
    finally:
        await nc.close()
