"""Recordings: what a recording is (RecordingInfo), its counters, and its id.

A recording is a sequence of point batches, stored as they were recorded (`encode_batch`
bytes); `RecordingInfo` describes it and `RecordingStats` accumulates the description batch by
batch while recording.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

import msgspec

from kapacitor.clock import Clock
from kapacitor.model.batch import PointBatch

__all__ = [
    "RecordingInfo",
    "RecordingKind",
    "RecordingStats",
    "RecordingStatus",
    "decode_info",
    "encode_info",
    "new_recording_id",
]

RecordingKind = Literal["query", "stream", "file", "plugin"]
RecordingStatus = Literal["running", "finished", "failed"]


class RecordingInfo(msgspec.Struct, kw_only=True):
    """One recording. Times are ns since the epoch; `first_time`/`last_time` are the event
    times of the earliest and latest point (0 while there is none); `size` counts the bytes of
    the stored batches; `source` is the query text, the stream filter description, or the
    imported file's name."""

    id: str
    kind: RecordingKind
    status: RecordingStatus = "running"
    points: int = 0
    first_time: int = 0
    last_time: int = 0
    measurements: list[str] = msgspec.field(default_factory=list)
    size: int = 0
    created: int = 0
    error: str = ""
    source: str = ""


def encode_info(info: RecordingInfo) -> bytes:
    return msgspec.json.encode(info)


def decode_info(data: bytes) -> RecordingInfo:
    return msgspec.json.decode(data, type=RecordingInfo)


@dataclass(slots=True)
class RecordingStats:
    """Counters of a recording in progress: `add` every stored batch, then `apply` to an info."""

    points: int = 0
    batches: int = 0
    size: int = 0
    first_time: int | None = None
    last_time: int | None = None
    measurements: set[str] = field(default_factory=set)

    def add(self, batch: PointBatch, size: int) -> None:
        """Count `batch`, stored in `size` bytes."""
        self.batches += 1
        self.size += size
        n = len(batch)
        if n == 0:
            return
        self.points += n
        lo, hi = int(batch.time.min()), int(batch.time.max())
        self.first_time = lo if self.first_time is None else min(self.first_time, lo)
        self.last_time = hi if self.last_time is None else max(self.last_time, hi)
        self.measurements.update(s.measurement for s in batch.series)

    def apply(self, info: RecordingInfo) -> RecordingInfo:
        """`info` with these counters (a new struct; `info` is left as it was)."""
        return msgspec.structs.replace(
            info,
            points=self.points,
            size=self.size,
            first_time=self.first_time or 0,
            last_time=self.last_time or 0,
            measurements=sorted(self.measurements),
        )


_ID_DIGITS = 9


def new_recording_id(clock: Clock, rng: random.Random | None = None) -> str:
    """A short numeric id in Kapacitor's style (`RecordingID=284150926`): always 9 digits.

    The first digits come from the clock (milliseconds, wrapping every 90 s) and the last four
    from `rng` (a fresh system-seeded one by default), so ids made in the same millisecond
    differ with probability 1 - 1/10,000. Ids are not guaranteed unique: a store should check
    that the id is free and draw again when it is not.
    """
    r = (rng or random.SystemRandom()).randrange(10_000)
    ms = (clock.now_ns() // 1_000_000) % 90_000
    return str(10 ** (_ID_DIGITS - 1) + ms * 10_000 + r)
