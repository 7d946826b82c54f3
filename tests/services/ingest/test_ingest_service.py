"""The ingest service's whole loop (`serve`) in-process on a real nats-server: a write request
through the Bus is answered after the points are in the POINTS stream."""

from __future__ import annotations

import asyncio

from kapacitor.bus import subjects
from kapacitor.bus.client import open_bus
from kapacitor.bus.interface import Message
from kapacitor.config import Config
from kapacitor.errors import ServiceUnavailable
from kapacitor.ingest import WriteRequest, decode_reply
from kapacitor.model import decode_batch
from services.ingest.service import serve


async def test_serve_answers_writes_after_storing_them(cfg: Config) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(serve(cfg, stop))
    bus = await open_bus(cfg.nats_url, "test")
    try:
        req = WriteRequest(db="telegraf", rp="autogen", first_line=10)

        async def write() -> Message:
            for _ in range(100):  # until serve has subscribed
                try:
                    return await bus.request(
                        subjects.INGEST_WRITE,
                        b"cpu,host=a v=1 1\ncpu v=\n",
                        timeout=5.0,
                        headers=req.headers(),
                        responder="ingest service",
                    )
                except ServiceUnavailable:
                    await asyncio.sleep(0.05)
            raise AssertionError("ingest never answered")

        answer = await write()
        reply = decode_reply(answer.data)
        assert (reply.accepted, [(e.line, bool(e.message)) for e in reply.errors]) == (
            1,
            [(11, True)],
        )
        stored = await bus.js.get_last_msg(subjects.POINTS_STREAM, subjects.POINTS_IN)
        batch = decode_batch(stored.data or b"")
        assert (batch.db, batch.rp, batch.time.tolist()) == ("telegraf", "autogen", [1])
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await bus.close()
