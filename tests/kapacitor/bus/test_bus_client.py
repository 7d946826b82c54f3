"""NatsBus, the Bus of services, on a real nats-server: requests, replies, queue groups, and
failures as BusErrors."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StreamConfig

from kapacitor.bus.client import open_bus
from kapacitor.bus.interface import Bus, Delivery, Message, Stored
from kapacitor.errors import BusError, ServiceUnavailable


async def test_request_reply_with_headers_and_no_responders(nats_url: str) -> None:
    nats_bus = await open_bus(nats_url, "test")
    bus: Bus = nats_bus  # services see only the Protocol
    seen: list[Message] = []

    async def echo(msg: Message) -> None:
        seen.append(msg)
        await msg.respond(msg.data.upper() + msg.header("X-Tail").encode())

    try:
        with pytest.raises(ServiceUnavailable, match="no echo service is running"):
            await bus.request("t.echo", b"hi", timeout=1.0, responder="echo service")
        sub = await bus.subscribe("t.echo", echo, queue="q")
        answer = await bus.request("t.echo", b"hi", timeout=5.0, headers={"X-Tail": "!"})
        assert answer.data == b"HI!"
        assert (seen[0].subject, seen[0].headers["X-Tail"]) == ("t.echo", "!")
        await sub.unsubscribe()

        async def silent(msg: Message) -> None:
            await asyncio.sleep(0)

        await bus.subscribe("t.silent", silent)
        with pytest.raises(ServiceUnavailable, match="the silent one did not answer in time"):
            await bus.request("t.silent", b"", timeout=0.2, responder="silent one")
    finally:
        await nats_bus.close()


async def test_publish_reaches_subscribers(nats_url: str) -> None:
    bus = await open_bus(nats_url, "test")
    got: asyncio.Queue[bytes] = asyncio.Queue()

    async def keep(msg: Message) -> None:
        got.put_nowait(msg.data)

    try:
        await bus.subscribe("t.x", keep)
        await bus.publish("t.x", b"1")
        await bus.flush()
        assert await asyncio.wait_for(got.get(), 5) == b"1"
    finally:
        await bus.close()


async def test_store_all_pipelines_in_order_and_msg_ids_store_once(nats_url: str) -> None:
    nats_bus = await open_bus(nats_url, "test")
    bus: Bus = nats_bus
    try:
        await nats_bus.js.add_stream(StreamConfig(name="T", subjects=["t.>"]))
        first = [Stored(f"t.{i % 3}", str(i).encode(), f"id{i}") for i in range(50)]
        await bus.store_all(first, stream="T", timeout=5.0)
        # again, as after a redelivery, and two messages without an id
        again = [*first[:10], Stored("t.x", b"a"), Stored("t.x", b"a")]
        await bus.store_all(again, stream="T", timeout=5.0)
        info = await nats_bus.js.stream_info("T")
        assert info.state.messages == 52
        psub = await nats_bus.js.pull_subscribe("t.>", "reader", stream="T")
        got = await psub.fetch(52, timeout=5)
        assert [m.data for m in got] == [str(i).encode() for i in range(50)] + [b"a", b"a"]
        with pytest.raises(BusError, match="stream T"):  # no stream captures nowhere.t2
            await bus.store_all([Stored("nowhere.t2", b"x")], stream="T", timeout=0.5)
    finally:
        await nats_bus.close()


async def test_consume_batches_hands_whole_fetches_and_acks_after(nats_url: str) -> None:
    nats_bus = await open_bus(nats_url, "test")
    bus: Bus = nats_bus
    js = nats_bus.js
    try:
        await js.add_stream(
            StreamConfig(name="W", subjects=["w.>"], retention=RetentionPolicy.WORK_QUEUE)
        )
        await js.add_consumer(
            "W", ConsumerConfig(durable_name="c", ack_policy=AckPolicy.EXPLICIT, ack_wait=30)
        )
        for i in range(5):
            await bus.store(f"w.{i}", str(i).encode(), stream="W")
        stop = asyncio.Event()
        seen: list[list[tuple[int, bytes]]] = []
        failed = False

        async def handle(msgs: Sequence[Delivery]) -> None:
            nonlocal failed
            seen.append([(m.sequence, m.data) for m in msgs])
            if not failed:  # the first fetch fails: it comes back at once, in order
                failed = True
                raise RuntimeError("boom")
            await msgs[0].term()  # settled by the handler: not acked again
            stop.set()

        with pytest.raises(RuntimeError, match="boom"):
            await bus.consume_batches("W", "c", 10, stop, handle)
        await bus.consume_batches("W", "c", 10, stop, handle)
        expected = [(i + 1, str(i).encode()) for i in range(5)]
        assert seen == [expected, expected]
        await nats_bus.flush()
        await asyncio.sleep(0.1)
        assert (await js.stream_info("W")).state.messages == 0
    finally:
        await nats_bus.close()
