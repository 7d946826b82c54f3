"""RecordingInfo, RecordingStats, recording ids, and joining batches."""

from __future__ import annotations

import random

import numpy as np
import pytest

from kapacitor.clock import ManualClock
from kapacitor.lineprotocol import parse_body
from kapacitor.model.batch import FieldType, PointBatch, SeriesKey, concat_batches, encode_batch
from kapacitor.replay.merge import coalesce
from kapacitor.replay.recording import (
    RecordingInfo,
    RecordingStats,
    decode_info,
    encode_info,
    new_recording_id,
)

T0 = 1_700_000_000_000_000_000


def _parse(body: str, db: str = "telegraf", rp: str = "autogen") -> PointBatch:
    [batch], errors = parse_body(body.encode(), db=db, rp=rp, now_ns=0)
    assert errors == []
    return batch


def test_stats_accumulate_and_apply() -> None:
    info = RecordingInfo(id="123456789", kind="query", source="SELECT * FROM cpu", created=5)
    stats = RecordingStats()
    assert stats.apply(info).first_time == 0
    b1 = _parse(f"cpu,host=a v=1 {T0 + 10}\nmem v=2 {T0 + 5}\n")
    b2 = _parse(f"disk v=1 {T0 + 20}\ncpu v=3 {T0 + 1}\n")
    stats.add(b1, len(encode_batch(b1)))
    stats.add(b2, len(encode_batch(b2)))
    stats.add(b1.take(np.zeros(0, np.intp)), 7)
    done = stats.apply(info)
    assert done is not info and info.points == 0
    assert (done.points, done.first_time, done.last_time) == (4, T0 + 1, T0 + 20)
    assert done.measurements == ["cpu", "disk", "mem"]
    assert done.size == len(encode_batch(b1)) + len(encode_batch(b2)) + 7
    assert (done.id, done.kind, done.status, done.source, done.created) == (
        "123456789",
        "query",
        "running",
        "SELECT * FROM cpu",
        5,
    )
    assert decode_info(encode_info(done)) == done


def test_recording_ids() -> None:
    clock = ManualClock(T0)
    a = new_recording_id(clock, random.Random(1))
    assert a == new_recording_id(clock, random.Random(1))
    assert len(a) == 9 and a.isdigit() and a[0] != "0"
    ids = {new_recording_id(clock) for _ in range(200)}
    assert len(ids) > 190
    for ms in (0, 89_999, 90_000, 123_456_789):
        clock.set(ms * 1_000_000)
        for r in (random.Random(2), random.Random(3)):
            rid = new_recording_id(clock, r)
            assert len(rid) == 9 and rid.isdigit()


def test_concat_pads_missing_fields_and_shares_series() -> None:
    a = _parse(f'cpu,host=a v=1,s="x" {T0}\n')
    b = _parse(f"cpu,host=b w=2i {T0 + 1}\ncpu,host=a v=3 {T0 + 2}\n")
    c = concat_batches([a, b])
    assert c.series == [SeriesKey("cpu", (("host", "a"),)), SeriesKey("cpu", (("host", "b"),))]
    assert c.series_idx.tolist() == [0, 1, 0]
    assert c.time.tolist() == [T0, T0 + 1, T0 + 2]
    assert c.fields["v"].type is FieldType.FLOAT
    assert c.fields["v"].present is not None and c.fields["v"].present.tolist() == [
        True,
        False,
        True,
    ]
    assert c.fields["s"].values.tolist()[0] == "x"
    assert c.fields["w"].values[1] == 2


def test_concat_refuses_conflicts() -> None:
    with pytest.raises(ValueError, match="field 'v' is float in one batch and int"):
        concat_batches([_parse("cpu v=1 1\n"), _parse("cpu v=1i 2\n")])
    with pytest.raises(ValueError, match="cannot join"):
        concat_batches([_parse("cpu v=1 1\n"), _parse("cpu v=1 2\n", db="x")])


def test_coalesce_respects_boundaries() -> None:
    parts = [
        _parse("cpu v=1 1\n"),
        _parse("cpu v=2 2\n"),
        _parse("cpu v=3i 3\n"),
        _parse("cpu v=4i 4\n", db="x"),
        _parse("cpu v=5i 5\n", db="x"),
        _parse("cpu v=6i 6\n", db="x"),
    ]
    out = list(coalesce(parts, 2))
    assert [(b.db, b.time.tolist()) for b in out] == [
        ("telegraf", [1, 2]),
        ("telegraf", [3]),
        ("x", [4, 5]),
        ("x", [6]),
    ]
