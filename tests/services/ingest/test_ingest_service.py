"""The ingest service's whole loop (`serve`) in-process on a real nats-server: line protocol
published on the NATS input subject lands in the POINTS stream; bad lines are logged by line."""

from __future__ import annotations

import asyncio

import pytest

from kapacitor.bus import subjects
from kapacitor.bus.client import open_bus
from kapacitor.config import Config
from kapacitor.model import decode_batch
from services.ingest.service import serve


async def test_serve_stores_what_telegraf_publishes(
    cfg: Config, caplog: pytest.LogCaptureFixture
) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(serve(cfg, stop))
    bus = await open_bus(cfg.nats_url, "test")
    try:
        before = (await bus.js.stream_info(subjects.POINTS_STREAM)).state.last_seq
        for _ in range(200):  # until serve has subscribed: core NATS keeps nothing
            await bus.publish(cfg.nats_input.subject, b"cpu,host=a v=1 1\ncpu v=\n")
            await asyncio.sleep(0.05)
            if (await bus.js.stream_info(subjects.POINTS_STREAM)).state.last_seq > before:
                break
        stored = await bus.js.get_last_msg(subjects.POINTS_STREAM, subjects.POINTS_IN)
        batch = decode_batch(stored.data or b"")
        assert (batch.db, batch.rp, batch.time.tolist()) == ("telegraf", "autogen", [1])
        assert "line 2:" in caplog.text
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await bus.close()
