"""The matcher's work on one fetch: joined runs, routed, split by partition, named by the
input sequences they hold."""

from __future__ import annotations

import numpy as np

from kapacitor.match.fanout import Fanout
from kapacitor.match.partition import partition_of
from kapacitor.match.router import PluginRoute
from kapacitor.model.batch import Column, FieldType, PointBatch, SeriesKey


def batch(hosts: list[int], t0: int, db: str = "telegraf") -> PointBatch:
    series = [SeriesKey("cpu", (("host", f"h{h}"),)) for h in sorted(set(hosts))]
    index = {s.tag("host"): i for i, s in enumerate(series)}
    n = len(hosts)
    return PointBatch(
        db,
        "autogen",
        series,
        np.array([index[f"h{h}"] for h in hosts], dtype=np.int32),
        np.arange(t0, t0 + n, dtype=np.int64),
        {"v": Column(FieldType.FLOAT, np.ones(n))},
    )


def test_each_instance_keeps_its_order_across_joined_inputs() -> None:
    fan = Fanout(partitions=8, join_rows=1_000)
    fan.set_routes([PluginRoute("a", "cpu", group_by=("host",)), PluginRoute("b", "mem")])
    inputs = [(10 + i, batch([h % 13 for h in range(i, i + 40)], 100 * i)) for i in range(4)]
    out = fan.split(inputs)
    assert {s.plugin for s in out} == {"a"}
    assert all((s.first_seq, s.last_seq, s.named) == (10, 13, True) for s in out)
    assert [s.partition for s in out] == sorted({s.partition for s in out})
    times: dict[str, list[int]] = {}
    for s in out:
        for row in range(len(s.batch)):
            host = s.batch.series[int(s.batch.series_idx[row])].tag("host") or ""
            assert partition_of("a", f"host={host}", 8) == s.partition
            times.setdefault(host, []).append(int(s.batch.time[row]))
    assert sum(map(len, times.values())) == 160
    assert all(t == sorted(t) for t in times.values())


def test_runs_are_cut_and_named_only_when_contiguous() -> None:
    fan = Fanout(partitions=1, join_rows=50)
    fan.set_routes([PluginRoute("a", "cpu")])
    inputs = [
        (1, batch([1] * 30, 0)),
        (2, batch([1] * 30, 30)),  # 60 > 50 rows: a run of its own
        (3, batch([1] * 10, 60, db="other")),
        (5, batch([1] * 10, 70, db="other")),  # 4 was not in this fetch
    ]
    got = [(s.first_seq, s.last_seq, s.named, len(s.batch)) for s in fan.split(inputs)]
    assert got == [(1, 1, True, 30), (2, 2, True, 30), (3, 5, False, 20)]


def test_a_changed_group_by_gets_a_new_partitioner() -> None:
    fan = Fanout(partitions=32, join_rows=1_000)
    fan.set_routes([PluginRoute("a", "cpu")])
    (one,) = fan.split([(1, batch([1, 1], 0))])
    assert one.partition == partition_of("a", "cpu,host=h1", 32)
    fan.set_routes([PluginRoute("a", "cpu", group_by=("host",))])
    (two,) = fan.split([(2, batch([1, 1], 0))])
    assert two.partition == partition_of("a", "host=h1", 32)
