"""Recordings on the bus: batches in the RECORDINGS stream (one subject per recording),
metadata in the recordings KV bucket. Durable across restarts and visible from every host."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

import msgspec
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from kapacitor.bus import subjects
from kapacitor.bus.client import kv_values
from kapacitor.errors import RecordingNotFound
from kapacitor.model import PointBatch, decode_batch, encode_batch
from kapacitor.replay.recording import RecordingInfo, RecordingStats, decode_info, encode_info

READ_BATCH = 64
READ_TIMEOUT_S = 2.0

__all__ = ["RecordingNotFound", "RecordingStore"]


class RecordingStore:
    def __init__(self, js: JetStreamContext, kv: KeyValue) -> None:
        self.js = js
        self.kv = kv

    async def exists(self, rec_id: str) -> bool:
        try:
            entry = await self.kv.get(subjects.token(rec_id))
        except KeyNotFoundError:
            return False
        return bool(entry.value)

    async def get(self, rec_id: str) -> RecordingInfo:
        try:
            entry = await self.kv.get(subjects.token(rec_id))
        except KeyNotFoundError:
            raise RecordingNotFound(f"no recording with id {rec_id!r}") from None
        if not entry.value:
            raise RecordingNotFound(f"no recording with id {rec_id!r}")
        return decode_info(entry.value)

    async def put(self, info: RecordingInfo) -> None:
        await self.kv.put(subjects.token(info.id), encode_info(info))

    async def list(self) -> list[RecordingInfo]:
        return sorted((decode_info(v) for v in await kv_values(self.kv)), key=lambda r: r.created)

    async def append(self, rec_id: str, batch: PointBatch) -> int:
        """Store one batch; returns its size in bytes."""
        data = encode_batch(batch)
        await self.js.publish(subjects.recording(rec_id), data, stream=subjects.RECORDINGS_STREAM)
        return len(data)

    async def batches(self, rec_id: str) -> AsyncIterator[PointBatch]:
        """The recording's batches in the order they were stored."""
        subject = subjects.recording(rec_id)
        psub = await self.js.pull_subscribe(
            subject,
            stream=subjects.RECORDINGS_STREAM,
            config=ConsumerConfig(
                ack_policy=AckPolicy.NONE,
                deliver_policy=DeliverPolicy.ALL,
                inactive_threshold=60.0,
            ),
        )
        try:
            remaining = (await psub.consumer_info()).num_pending or 0
            while remaining > 0:
                try:
                    msgs = await psub.fetch(min(READ_BATCH, remaining), timeout=READ_TIMEOUT_S)
                except TimeoutError:  # nats-py's subclass, or a bare asyncio one
                    break
                for msg in msgs:
                    remaining -= 1
                    yield decode_batch(msg.data)
        finally:
            await psub.unsubscribe()

    async def store_all(self, info: RecordingInfo, batches: Iterable[PointBatch]) -> RecordingInfo:
        """Store a whole recording at once (an import): its batches, then its finished info."""
        stats = RecordingStats()
        for b in batches:
            stats.add(b, await self.append(info.id, b))
        done = msgspec.structs.replace(stats.apply(info), status="finished")
        await self.put(done)
        return done

    async def close(self, info: RecordingInfo) -> RecordingInfo:
        """Mark a recording finished with what it stored (its replay service is gone)."""
        done = msgspec.structs.replace(info, status="finished")
        await self.put(done)
        return done

    async def delete(self, rec_id: str) -> None:
        await self.get(rec_id)
        await self.js.purge_stream(subjects.RECORDINGS_STREAM, subject=subjects.recording(rec_id))
        await self.kv.purge(subjects.token(rec_id))
