"""Splitting a plugin's batches by partition: stable partitions, every row in exactly one
partition, input order kept within each."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapacitor.match.partition import Partitioner, partition_of
from kapacitor.match.router import series_instance_key
from kapacitor.model.batch import Column, FieldType, PointBatch, SeriesKey


def sk(measurement: str, **tags: str) -> SeriesKey:
    return SeriesKey(measurement, tuple(sorted(tags.items())))


def batch_of(keys: list[SeriesKey], absent_every: int = 0) -> PointBatch:
    """One row per entry of `keys`; field `v` is the row number (absent on every
    `absent_every`-th row when set), so rows can be traced."""
    series: list[SeriesKey] = []
    index: dict[SeriesKey, int] = {}
    for k in keys:
        if k not in index:
            index[k] = len(series)
            series.append(k)
    n = len(keys)
    present = None
    if absent_every:
        present = np.arange(n) % absent_every != 0
    return PointBatch(
        "telegraf",
        "autogen",
        series,
        np.array([index[k] for k in keys], dtype=np.int32),
        np.arange(n, dtype=np.int64) * 10,
        {"v": Column(FieldType.INT, np.arange(n, dtype=np.int64), present)},
    )


# Fixed for ever: a change here moves every deployment's instances to other partitions.
KNOWN = [
    ("r1", "host=h0", 32, 27),
    ("r1", "host=h1", 32, 13),
    ("cpu_alert", "cpu,dc=east,host=a", 32, 24),
    ("cpu_alert", "", 32, 20),
    ("a", "b", 7, 0),
    ("plugin.x", "host=h\\,1", 1024, 554),
]


@pytest.mark.parametrize(("plugin", "key", "parts", "expected"), KNOWN)
def test_partitions_are_stable(plugin: str, key: str, parts: int, expected: int) -> None:
    assert partition_of(plugin, key, parts) == expected
    assert zlib.crc32(f"{plugin}\0{key}".encode()) % parts == expected


def test_the_instance_key_decides_with_and_without_group_by() -> None:
    a, b = sk("cpu", host="h0", region="r0"), sk("cpu", host="h0", region="r1")
    by_host = Partitioner("r1", ("host",), 32)
    assert by_host.series_partitions(batch_of([a, b])).tolist() == [27, 27]
    by_series = Partitioner("r1", None, 32)
    got = by_series.series_partitions(batch_of([a, b])).tolist()
    assert got == [partition_of("r1", series_instance_key(s, None), 32) for s in (a, b)]


def test_one_partition_or_one_instance_is_not_copied() -> None:
    b = batch_of([sk("cpu", host="h0")] * 5)
    assert Partitioner("r1", None, 1).split(b) == {0: b}
    (only,) = Partitioner("r1", ("host",), 32).split(b).values()
    assert only is b


def test_rows_keep_their_order_and_fields_their_presence() -> None:
    keys = [sk("cpu", host=f"h{i % 7}") for i in range(100)]
    b = batch_of(keys, absent_every=3)
    parts = Partitioner("r1", ("host",), 4).split(b)
    assert list(parts) == sorted(parts)
    seen: list[int] = []
    for p, sub in parts.items():
        rows = (sub.time // 10).tolist()
        assert rows == sorted(rows)
        seen += rows
        for s in sub.series:
            assert partition_of("r1", series_instance_key(s, ("host",)), 4) == p
        present = sub.fields["v"].present_mask(len(sub))
        assert present.tolist() == [r % 3 != 0 for r in rows]
        assert sub.fields["v"].values[present].tolist() == [r for r in rows if r % 3]
    assert sorted(seen) == list(range(100))


def test_a_series_without_rows_goes_nowhere() -> None:
    b = batch_of([sk("cpu", host="a"), sk("cpu", host="b")] * 3)
    b.series.append(sk("cpu", host="unused"))
    parts = Partitioner("r1", ("host",), 64).split(b)
    assert all(s.tag("host") != "unused" for sub in parts.values() for s in sub.series)


def _reference(
    plugin: str, group_by: tuple[str, ...] | None, parts: int, b: PointBatch
) -> dict[int, list[tuple[SeriesKey, int, int | None]]]:
    """Row by row: the (series, time, v or None) of each partition's rows, in input order."""
    out: dict[int, list[tuple[SeriesKey, int, int | None]]] = {}
    col = b.fields["v"]
    present = col.present_mask(len(b))
    for row in range(len(b)):
        s = b.series[int(b.series_idx[row])]
        p = zlib.crc32((plugin + "\0" + series_instance_key(s, group_by)).encode()) % parts
        v = int(col.values[row]) if present[row] else None
        out.setdefault(p, []).append((s, int(b.time[row]), v))
    return out


def _rows(sub: PointBatch) -> list[tuple[SeriesKey, int, int | None]]:
    col = sub.fields.get("v")
    present = col.present_mask(len(sub)) if col is not None else np.zeros(len(sub), np.bool_)
    return [
        (
            sub.series[int(sub.series_idx[r])],
            int(sub.time[r]),
            int(col.values[r]) if col is not None and present[r] else None,
        )
        for r in range(len(sub))
    ]


@settings(max_examples=200)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 12), st.sampled_from(["a", "b", ""])), min_size=0, max_size=60
    ),
    parts=st.integers(1, 40),
    group_by=st.sampled_from([None, ("host",), ("dc", "host"), ()]),
    absent_every=st.integers(0, 4),
)
def test_split_matches_a_row_by_row_reference(
    rows: list[tuple[int, str]],
    parts: int,
    group_by: tuple[str, ...] | None,
    absent_every: int,
) -> None:
    keys = [sk("cpu", host=f"h{h}", dc=dc) if dc else sk("cpu", host=f"h{h}") for h, dc in rows]
    b = batch_of(keys, absent_every)
    partitioner = Partitioner("plug", group_by, parts)
    got = partitioner.split(b)
    assert {p: _rows(sub) for p, sub in got.items()} == _reference("plug", group_by, parts, b)
    for sub in got.values():  # no series without a row, indices in range
        assert sorted(set(sub.series_idx.tolist())) == list(range(len(sub.series)))
    assert partitioner.split(b).keys() == got.keys()  # the cached path agrees
