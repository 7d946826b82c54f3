"""Routing batches to plugins and splitting them into plugin instances."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapacitor.match.predicate import compile_where
from kapacitor.match.router import PluginRoute, instance_keys, route
from kapacitor.match.where import parse_where
from kapacitor.model.batch import Column, FieldType, PointBatch, SeriesKey


def sk(measurement: str, **tags: str) -> SeriesKey:
    return SeriesKey(measurement, tuple(sorted(tags.items())))


def batch_of(keys: list[SeriesKey], db: str = "telegraf", rp: str = "autogen") -> PointBatch:
    """One row per entry of `keys`; field `v` is the row number, so rows can be traced."""
    series: list[SeriesKey] = []
    index: dict[SeriesKey, int] = {}
    for k in keys:
        index.setdefault(k, len(index))
        if len(series) < len(index):
            series.append(k)
    n = len(keys)
    return PointBatch(
        db,
        rp,
        series,
        np.array([index[k] for k in keys], dtype=np.int32),
        np.arange(n, dtype=np.int64) * 10,
        {"v": Column(FieldType.INT, np.arange(n, dtype=np.int64))},
    )


def rows_of(b: PointBatch) -> list[int]:
    return [int(x) for x in b.fields["v"].values]


def r(name: str, measurement: str, where: str | None = None, **kw: Any) -> PluginRoute:
    pred = compile_where(None if where is None else parse_where(where))
    return PluginRoute(name, measurement, where=pred, **kw)


MIXED = [
    sk("cpu", host="a", dc="east"),
    sk("mem", host="a"),
    sk("cpu", host="b", dc="west"),
    sk("disk", host="a", path="/"),
    sk("cpu", host="a", dc="east"),
    sk("mem", host="b"),
    sk("cpu", host="c"),
]


def test_routes_by_measurement_in_input_order() -> None:
    out = route(batch_of(MIXED), [r("c", "cpu"), r("m", "mem"), r("n", "net")])
    assert set(out) == {"c", "m"}  # nothing for net: absent, not empty
    assert rows_of(out["c"]) == [0, 2, 4, 6]
    assert rows_of(out["m"]) == [1, 5]
    assert out["c"].time.tolist() == [0, 20, 40, 60]
    assert {s.measurement for s in out["c"].series} == {"cpu"}
    assert len(out["c"].series) == 3  # take() keeps only the series used


def test_routes_with_where() -> None:
    routes = [
        r("east", "cpu", "dc = 'east'"),
        r("no_dc", "cpu", "dc = ''"),
        r("not_a", "cpu", "host != 'a' and v >= 3"),
        r("none", "cpu", "host = 'zzz'"),
        r("mem_re", "mem", "host =~ /^b/"),
    ]
    out = route(batch_of(MIXED), routes)
    assert rows_of(out["east"]) == [0, 4]
    assert rows_of(out["no_dc"]) == [6]
    assert rows_of(out["not_a"]) == [6]
    assert "none" not in out
    assert rows_of(out["mem_re"]) == [5]


def test_routes_by_db_and_rp() -> None:
    b = batch_of(MIXED, db="telegraf", rp="autogen")
    routes = [
        r("any", "cpu"),
        r("db", "cpu", db="telegraf"),
        r("other_db", "cpu", db="other"),
        r("rp", "cpu", db="telegraf", rp="autogen"),
        r("other_rp", "cpu", rp="weekly"),
    ]
    assert set(route(b, routes)) == {"any", "db", "rp"}


def test_single_measurement_batch_and_empty_inputs() -> None:
    b = batch_of([sk("cpu", host="a"), sk("cpu", host="b")])
    out = route(b, [r("all", "cpu"), r("b", "cpu", "host = 'b'")])
    assert rows_of(out["all"]) == [0, 1]
    assert rows_of(out["b"]) == [1]
    assert route(b, []) == {}
    assert route(batch_of([]), [r("all", "cpu")]) == {}


def test_duplicate_route_names_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        route(batch_of(MIXED), [r("x", "cpu"), r("x", "mem")])


def test_instance_keys_per_series() -> None:
    b = batch_of(MIXED)
    keys, idx = instance_keys(b, None)
    assert keys == ["cpu,dc=east,host=a", "mem,host=a", "cpu,dc=west,host=b", "disk,host=a,path=/",
                    "mem,host=b", "cpu,host=c"]  # fmt: skip
    assert idx.tolist() == [0, 1, 2, 3, 0, 4, 5]


def test_instance_keys_group_by() -> None:
    b = batch_of(MIXED)
    keys, idx = instance_keys(b, ("host", "dc"))
    assert keys == ["dc=east,host=a", "dc=,host=a", "dc=west,host=b", "dc=,host=b", "dc=,host=c"]
    assert idx.tolist() == [0, 1, 2, 1, 0, 3, 4]
    keys, idx = instance_keys(b, ("dc", "host", "dc"))  # order and duplicates do not matter
    assert keys[0] == "dc=east,host=a"
    keys, idx = instance_keys(b, ())
    assert keys == [""] and idx.tolist() == [0] * len(MIXED)


def test_instance_keys_escape_separators() -> None:
    b = batch_of([sk("c m", host="a,b=c"), sk("c m", host="a", b="c"), sk("cpu", host="x\\y")])
    keys, _ = instance_keys(b, None)
    assert keys == ["c\\ m,host=a\\,b\\=c", "c\\ m,b=c,host=a", "cpu,host=x\\\\y"]
    assert len(set(keys)) == 3


def test_instance_keys_empty_and_unused_series() -> None:
    keys, idx = instance_keys(batch_of([]), None)
    assert keys == [] and idx.shape == (0,)
    b = batch_of([sk("cpu", host="a"), sk("cpu", host="b")])
    sub = PointBatch(b.db, b.rp, b.series, np.array([1, 1], np.int32), b.time, {})
    keys, idx = instance_keys(sub, None)
    assert keys == ["cpu,host=b"] and idx.tolist() == [0, 0]


_MEAS = ["cpu", "mem", "disk"]


# cheap per example: many routing shapes to cover
@settings(max_examples=settings.default.max_examples * 2)
@given(
    st.lists(
        st.tuples(st.sampled_from(_MEAS), st.sampled_from(["a", "b", "c"]), st.booleans()),
        max_size=30,
    )
)
def test_route_matches_naive_filter(spec: list[tuple[str, str, bool]]) -> None:
    keys = [sk(m, host=h, **({"dc": "east"} if e else {})) for m, h, e in spec]
    b = batch_of(keys)
    routes = [r(f"{m}-{i}", m, w) for m in _MEAS for i, w in enumerate([None, "host = 'a'",
              "dc = 'east' or v > 10", "not host =~ /b|c/"])]  # fmt: skip
    out = route(b, routes)
    for rt in routes:
        expected = [i for i, k in enumerate(keys) if k.measurement == rt.measurement]
        if expected:
            mask = rt.where.evaluate(b, np.array(expected, dtype=np.intp))
            expected = [i for i, ok in zip(expected, mask.tolist(), strict=True) if ok]
        if expected:
            assert rows_of(out[rt.name]) == expected
        else:
            assert rt.name not in out


def test_a_route_without_measurement_takes_every_measurement() -> None:
    # A live recording without --from: same db/rp and where rules, any measurement.
    out = route(batch_of(MIXED), [r("all", ""), r("a", "", "host = 'a'"), r("x", "", db="x")])
    assert rows_of(out["all"]) == list(range(len(MIXED)))
    assert rows_of(out["a"]) == [0, 1, 3, 4]
    assert "x" not in out
