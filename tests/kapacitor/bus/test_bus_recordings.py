"""Recordings stored on a real nats-server: batches in order, metadata, delete."""

from __future__ import annotations

import numpy as np
import pytest

from kapacitor.bus import subjects
from kapacitor.bus.client import kv_bucket, setup
from kapacitor.bus.recording_store import RecordingStore
from kapacitor.errors import RecordingNotFound
from kapacitor.model import Column, FieldType, PointBatch, SeriesKey
from kapacitor.replay.recording import RecordingInfo


def batch(start: int, n: int) -> PointBatch:
    return PointBatch(
        "db",
        "rp",
        [SeriesKey("cpu", (("host", "a"),))],
        np.zeros(n, np.int32),
        np.arange(start, start + n, dtype=np.int64),
        {"v": Column(FieldType.FLOAT, np.arange(n, dtype=np.float64))},
    )


async def test_batches_come_back_in_order_and_delete_removes_everything(nats_url: str) -> None:
    nc, js = await setup(nats_url, "test")
    try:
        store = RecordingStore(js, await kv_bucket(js, subjects.RECORDINGS_BUCKET))
        await store.put(RecordingInfo(id="123", kind="stream"))
        for i in range(150):
            await store.append("123", batch(i * 10, 10))
        await store.append("other", batch(0, 3))
        got = [b async for b in store.batches("123")]
        assert len(got) == 150
        assert np.concatenate([b.time for b in got]).tolist() == list(range(1500))
        assert [r.id for r in await store.list()] == ["123"]
        await store.delete("123")
        assert [b async for b in store.batches("123")] == []
        assert len([b async for b in store.batches("other")]) == 1
        with pytest.raises(RecordingNotFound, match="no recording with id '123'"):
            await store.get("123")
    finally:
        await nc.close()
