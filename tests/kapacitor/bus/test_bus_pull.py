"""Pull (kapacitor/bus/pull.py) on a real nats-server: batches in order, waiting for more, no
request left open once a fetch has returned, and the server's refusals as BusErrors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import nats
import pytest
from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StreamConfig

from kapacitor.bus.pull import Pull
from kapacitor.errors import BusError


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[Client]:
    client = await nats.connect(nats_url)
    js = client.jetstream()
    await js.add_stream(
        StreamConfig(name="W", subjects=["w.>"], retention=RetentionPolicy.WORK_QUEUE)
    )
    await js.add_consumer(
        "W", ConsumerConfig(durable_name="c", ack_policy=AckPolicy.EXPLICIT, ack_wait=30)
    )
    try:
        yield client
    finally:
        await client.close()


async def _publish(nc: Client, *payloads: bytes) -> None:
    js = nc.jetstream()
    for p in payloads:
        await js.publish("w.x", p)


async def test_fetches_what_is_there_in_order_up_to_the_batch(nc: Client) -> None:
    await _publish(nc, *(b"%d" % i for i in range(7)))
    pull = await Pull.open(nc, "W", "c")
    first = await pull.fetch(5, timeout=2.0)
    rest = await pull.fetch(5, timeout=2.0)
    assert [m.data for m in first] == [b"0", b"1", b"2", b"3", b"4"]
    assert [m.data for m in rest] == [b"5", b"6"]
    assert [m.metadata.sequence.stream for m in first + rest] == list(range(1, 8))
    await pull.close()


async def test_waits_for_the_first_message_then_returns_at_once(nc: Client) -> None:
    pull = await Pull.open(nc, "W", "c")
    t0 = time.perf_counter()
    assert await pull.fetch(5, timeout=0.3) == []
    assert 0.25 < time.perf_counter() - t0 < 1.5

    async def later() -> None:
        await asyncio.sleep(0.2)
        await _publish(nc, b"a")

    task = asyncio.create_task(later())
    t0 = time.perf_counter()
    got = await pull.fetch(5, timeout=5.0)
    assert [m.data for m in got] == [b"a"]
    assert time.perf_counter() - t0 < 2.0  # not the whole timeout
    await task
    await pull.close()


async def test_wait_gathers_what_comes_soon_after_the_first(nc: Client) -> None:
    pull = await Pull.open(nc, "W", "c")
    await _publish(nc, b"a")

    async def trickle() -> None:
        for p in (b"b", b"c"):
            await asyncio.sleep(0.05)
            await _publish(nc, p)

    task = asyncio.create_task(trickle())
    got = await pull.fetch(10, timeout=2.0, wait=0.5)
    await task
    assert [m.data for m in got] == [b"a", b"b", b"c"]
    await pull.close()


async def test_no_request_is_left_open_once_a_fetch_returned(nc: Client) -> None:
    """A message published after one puller's fetch returned goes to the next request, from
    any puller of the consumer, not to a request of the first one nobody reads any more."""
    a, b = await Pull.open(nc, "W", "c"), await Pull.open(nc, "W", "c")
    await _publish(nc, b"1")
    assert [m.data for m in await a.fetch(10, timeout=2.0)] == [b"1"]
    await _publish(nc, b"2")
    got = await b.fetch(10, timeout=2.0)
    assert [m.data for m in got] == [b"2"]
    for m in got:
        await m.nak()  # back at once, to b's next request
    assert [m.data for m in await b.fetch(10, timeout=2.0)] == [b"2"]
    await a.close()
    await b.close()


async def test_a_refused_request_is_a_bus_error(nc: Client) -> None:
    pull = await Pull.open(nc, "W", "no-such-consumer")
    with pytest.raises(BusError, match="fetch failed: 503"):
        await pull.fetch(5, timeout=2.0)
    await pull.close()
