"""NatsBus, the Bus of services, on a real nats-server: requests, replies, queue groups, and
failures as BusErrors."""

from __future__ import annotations

import asyncio

import pytest

from kapacitor.bus.client import open_bus
from kapacitor.bus.interface import Bus, Message
from kapacitor.errors import ServiceUnavailable


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
