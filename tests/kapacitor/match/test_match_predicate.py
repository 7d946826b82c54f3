"""Vectorized where predicates against a plain per-row reference evaluator."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapacitor.match.predicate import Predicate, TagsetIndex, compile_where
from kapacitor.match.where import (
    And,
    BoolLit,
    Compare,
    Not,
    NumberLit,
    Or,
    Ref,
    RefKind,
    RegexLit,
    StringLit,
    WhereExpr,
    parse_where,
)
from kapacitor.model.batch import Column, FieldType, PointBatch, SeriesKey

Row = tuple[SeriesKey, dict[str, tuple[FieldType, Any]]]

_GARBAGE: dict[FieldType, Any] = {
    FieldType.FLOAT: 12345.0,
    FieldType.INT: 12345,
    FieldType.UINT: 12345,
    FieldType.BOOL: True,
    FieldType.STRING: None,  # absent string slots hold junk the predicate must never touch
}
_DTYPE = {
    FieldType.FLOAT: np.float64,
    FieldType.INT: np.int64,
    FieldType.UINT: np.uint64,
    FieldType.BOOL: np.bool_,
    FieldType.STRING: object,
}


def make_batch(rows: list[Row], db: str = "db", rp: str = "autogen") -> PointBatch:
    """A batch from (series, {field: (type, value)}) rows; a field keeps one type per batch."""
    series: list[SeriesKey] = []
    index: dict[SeriesKey, int] = {}
    for s, _ in rows:
        if s not in index:
            index[s] = len(series)
            series.append(s)
    types: dict[str, FieldType] = {}
    for _, fields in rows:
        for name, (t, _v) in fields.items():
            types.setdefault(name, t)
    cols: dict[str, Column] = {}
    for name, t in types.items():
        vals = [f[name][1] if name in f else _GARBAGE[t] for _, f in rows]
        present = np.array([name in f for _, f in rows], dtype=np.bool_)
        cols[name] = Column(t, np.array(vals, dtype=_DTYPE[t]), None if present.all() else present)
    return PointBatch(
        db,
        rp,
        series,
        np.array([index[s] for s, _ in rows], dtype=np.int32),
        np.arange(len(rows), dtype=np.int64),
        cols,
    )


def cpu(host: str = "a", **tags: str) -> SeriesKey:
    return SeriesKey("cpu", tuple(sorted({"host": host, **tags}.items())))


# ---------------------------------------------------------------------------------------------
# Reference: one row at a time, straight from the documented rules.
# ---------------------------------------------------------------------------------------------

_PY_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_MISSING = object()


def ref_compare(
    cmp: Compare, tags: dict[str, str], fields: dict[str, tuple[FieldType, Any]]
) -> bool:
    name, kind = cmp.ref.name, cmp.ref.kind
    if kind == "tag" or (kind == "any" and name in tags):
        typ, val = FieldType.STRING, tags.get(name, "")
    elif name in fields:
        typ, val = fields[name]
    elif kind == "any":
        typ, val = FieldType.STRING, ""
    else:
        return False
    lit = cmp.value
    if isinstance(lit, RegexLit):
        if typ is not FieldType.STRING:
            return False
        found = lit.regex.search(val) is not None
        return found if cmp.op == "=~" else not found
    if isinstance(lit, StringLit):
        return typ is FieldType.STRING and _PY_OPS[cmp.op](val, lit.value)
    if isinstance(lit, BoolLit):
        return typ is FieldType.BOOL and _PY_OPS[cmp.op](bool(val), lit.value)
    if typ in (FieldType.FLOAT, FieldType.INT, FieldType.UINT):
        return _PY_OPS[cmp.op](val, lit.value)
    return False


def ref_eval(e: WhereExpr, tags: dict[str, str], fields: dict[str, tuple[FieldType, Any]]) -> bool:
    if isinstance(e, Compare):
        return ref_compare(e, tags, fields)
    if isinstance(e, And):
        return all(ref_eval(o, tags, fields) for o in e.operands)
    if isinstance(e, Or):
        return any(ref_eval(o, tags, fields) for o in e.operands)
    return not ref_eval(e.operand, tags, fields)


# ---------------------------------------------------------------------------------------------
# Random batches and clauses
# ---------------------------------------------------------------------------------------------

_NAMES = ["host", "dc", "x", "f", "s", "b"]
_STRS = ["", "a", "b", "ab", "h1", "B", "h10"]
_REGEXES = ["^a", "b$", ".*", "a|h", "", "^$", "1"]


@st.composite
def batches(draw: st.DrawFn) -> list[Row]:
    series = draw(
        st.lists(
            st.dictionaries(st.sampled_from(["host", "dc", "x"]), st.sampled_from(_STRS[1:])),
            min_size=1,
            max_size=5,
        )
    )
    keys = [
        SeriesKey(draw(st.sampled_from(["cpu", "mem"])), tuple(sorted(t.items()))) for t in series
    ]
    values: dict[FieldType, st.SearchStrategy[Any]] = {
        FieldType.FLOAT: st.sampled_from([-1.5, 0.0, 1.0, 2.5, math.nan, -math.inf]),
        FieldType.INT: st.integers(-3, 3),
        FieldType.UINT: st.integers(0, 4),
        FieldType.BOOL: st.booleans(),
        FieldType.STRING: st.sampled_from(_STRS),
    }
    types = {n: draw(st.sampled_from(list(FieldType))) for n in ["x", "f", "s", "b", "dc"]}
    rows: list[Row] = []
    for _ in range(draw(st.integers(0, 25))):
        s = draw(st.sampled_from(keys))
        fields = {}
        for name, t in types.items():
            if draw(st.booleans()):
                fields[name] = (t, draw(values[t]))
        rows.append((s, fields))
    return rows


@st.composite
def comparisons(draw: st.DrawFn) -> Compare:
    kinds: list[RefKind] = ["any", "any", "tag", "field"]
    kind = draw(st.sampled_from(kinds))
    ref = Ref(draw(st.sampled_from(_NAMES)), kind)
    lits: list[Any] = [
        st.sampled_from(_STRS).map(StringLit),
        st.sampled_from(_REGEXES).map(RegexLit),
    ]
    if kind != "tag":
        nums = st.one_of(st.integers(-4, 4), st.sampled_from([-1.5, 0.0, 1.0, 2.5, 1e300, 2**70]))
        lits += [nums.map(NumberLit), st.booleans().map(BoolLit)]
    value = draw(st.one_of(lits))
    if isinstance(value, RegexLit):
        op = draw(st.sampled_from(["=~", "!~"]))
    elif isinstance(value, BoolLit):
        op = draw(st.sampled_from(["=", "!="]))
    else:
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
    return Compare(op, ref, value)


def _and(xs: list[WhereExpr]) -> WhereExpr:
    return And(tuple(xs))


def _or(xs: list[WhereExpr]) -> WhereExpr:
    return Or(tuple(xs))


wheres: st.SearchStrategy[WhereExpr] = st.recursive(
    comparisons(),
    lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=3).map(_and),
        st.lists(inner, min_size=2, max_size=3).map(_or),
        inner.map(Not),
    ),
    max_leaves=8,
)


# cheap per example: many expression shapes to cover
@settings(max_examples=settings.default.max_examples * 5)
@given(batches(), wheres, st.randoms(use_true_random=False))
def test_matches_reference(rows: list[Row], expr: WhereExpr, rnd: Any) -> None:
    # Through the printer and parser too: what users write is text.
    # (The parser flattens nested and/or, so compare printed forms after one round trip.)
    parsed = parse_where(str(expr))
    assert parse_where(str(parsed)) == parsed
    batch = make_batch(rows)
    pred = compile_where(parsed)
    expected = np.array([ref_eval(expr, dict(s.tags), f) for s, f in rows], dtype=np.bool_)
    assert pred.evaluate(batch).tolist() == expected.tolist()
    # Again, now from the per-series cache, on a shuffled subset of rows.
    cand = np.array(rnd.sample(range(len(rows)), rnd.randint(0, len(rows))), dtype=np.intp)
    assert pred.evaluate(batch, cand).tolist() == expected[cand].tolist()
    # With the series hint the router passes.
    series = np.unique(batch.series_idx[cand]).astype(np.intp)
    got = pred.evaluate(batch, cand, candidate_series=series)
    assert got.tolist() == expected[cand].tolist()


# ---------------------------------------------------------------------------------------------
# Documented semantics, one by one
# ---------------------------------------------------------------------------------------------


def where(text: str) -> Predicate:
    return compile_where(parse_where(text))


def test_none_matches_everything() -> None:
    batch = make_batch([(cpu("a"), {}), (cpu("b"), {})])
    p = compile_where(None)
    assert p.always_true
    assert p.evaluate(batch).tolist() == [True, True]
    assert p.evaluate(batch, np.array([1], dtype=np.intp)).tolist() == [True]


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("host = 'a'", [True, False, False]),
        ("host != 'a'", [False, True, True]),
        ("host = ''", [False, False, True]),  # missing tag equals ''
        ("host::tag = ''", [False, False, True]),
        ("host < 'b'", [True, False, True]),
        ("host =~ /^b/", [False, True, False]),
        ("host !~ /^b/", [True, False, True]),
        ("host = 1", [False, False, False]),  # tags are strings
        ("not host = 1", [True, True, True]),
    ],
)
def test_tag_semantics(clause: str, expected: list[bool]) -> None:
    batch = make_batch([(cpu("a"), {}), (cpu("b"), {}), (SeriesKey("cpu"), {})])
    assert where(clause).evaluate(batch).tolist() == expected


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("v > 1", [True, False, False, False, False]),
        ("v = 2", [True, False, False, False, False]),
        ("v != 2", [False, True, False, False, False]),  # missing and mismatched types: false
        ("not v > 1", [False, True, True, True, True]),  # two-valued not
        ("v = 'x'", [False, False, True, False, False]),
        ("v = true", [False, False, False, True, False]),
        ("v = ''", [False, False, False, False, True]),  # bare ref, no tag, no field: ''
        ("v::field = ''", [False, False, False, False, False]),
        ("v =~ /x/", [False, False, True, False, False]),
        ("v !~ /x/", [False, False, False, False, True]),
    ],
)
def test_field_semantics(clause: str, expected: list[bool]) -> None:
    # One field name with a different type per batch, so build five one-row batches.
    rows: list[dict[str, tuple[FieldType, Any]]] = [
        {"v": (FieldType.INT, 2)},
        {"v": (FieldType.FLOAT, 0.5)},
        {"v": (FieldType.STRING, "x")},
        {"v": (FieldType.BOOL, True)},
        {},
    ]
    p = where(clause)
    got = [bool(p.evaluate(make_batch([(cpu("a"), f)]))[0]) for f in rows]
    assert got == expected


def test_tag_wins_over_field_and_explicit_kinds() -> None:
    rows: list[Row] = [
        (cpu("a", x="t"), {"x": (FieldType.STRING, "f")}),
        (cpu("a"), {"x": (FieldType.STRING, "f")}),
    ]
    batch = make_batch(rows)
    assert where("x = 't'").evaluate(batch).tolist() == [True, False]
    assert where("x = 'f'").evaluate(batch).tolist() == [False, True]
    assert where("x::field = 'f'").evaluate(batch).tolist() == [True, True]
    assert where("x::tag = 't'").evaluate(batch).tolist() == [True, False]
    assert where("x::tag = ''").evaluate(batch).tolist() == [False, True]


def test_numeric_mixing_and_extremes() -> None:
    rows: list[Row] = [
        (cpu(), {"i": (FieldType.INT, -(2**63)), "u": (FieldType.UINT, 2**64 - 1)}),
        (cpu(), {"i": (FieldType.INT, 3), "u": (FieldType.UINT, 0)}),
    ]
    batch = make_batch(rows)
    assert where("i < 2.5").evaluate(batch).tolist() == [True, False]
    assert where("i >= 3").evaluate(batch).tolist() == [False, True]
    assert where("i > 99999999999999999999999").evaluate(batch).tolist() == [False, False]
    assert where("i != 99999999999999999999999").evaluate(batch).tolist() == [True, True]
    assert where("u > -1").evaluate(batch).tolist() == [True, True]
    assert where("u = 18446744073709551615").evaluate(batch).tolist() == [True, False]
    assert where("u <= 0").evaluate(batch).tolist() == [False, True]


def test_tag_only_clause_is_computed_once_per_series() -> None:
    p = where("region = 'r1' or host =~ /h1.*/")
    calls = 0
    compute = p._compute

    def counting(tags: tuple[tuple[str, str], ...]) -> tuple[int, tuple[int, ...]]:
        nonlocal calls
        calls += 1
        return compute(tags)

    p._compute = counting  # type: ignore[method-assign]
    series = [cpu(f"h{i}", region=f"r{i % 10}") for i in range(50)]
    batch = make_batch([(series[i % 50], {}) for i in range(500)])
    first = p.evaluate(batch)
    assert calls == 50
    assert p.evaluate(batch).tolist() == first.tolist()
    assert calls == 50  # second batch of the same series: cache only
    assert p.cache_size == 50


def test_cache_is_bounded() -> None:
    index = TagsetIndex(limit=10)
    p = compile_where(parse_where("host = 'h1'"), index)
    q = compile_where(parse_where("host = 'h2'"), index)
    for start in range(0, 100, 5):
        batch = make_batch([(cpu(f"h{i}"), {}) for i in range(start, start + 5)])
        for pred, want in ((p, "h1"), (q, "h2")):
            got = pred.evaluate(batch).tolist()
            assert got == [f"h{i}" == want for i in range(start, start + 5)]
            assert pred.cache_size <= 10
        assert len(index) <= 10
    assert index.generation > 0


def test_index_shared_and_memoized_per_series_list() -> None:
    index = TagsetIndex()
    batch = make_batch([(cpu("a"), {}), (cpu("b"), {}), (SeriesKey("mem", cpu("a").tags), {})])
    ids = index.ids(batch.series)
    assert ids.tolist() == [0, 1, 0]  # same tag set, different measurement: same id
    assert index.ids(batch.series) is ids
    assert index.ids(list(batch.series)).tolist() == [0, 1, 0]


def test_empty_candidates_and_batch() -> None:
    batch = make_batch([(cpu("a"), {})])
    p = where("host = 'a'")
    assert p.evaluate(batch, np.zeros(0, dtype=np.intp)).tolist() == []
    assert p.evaluate(make_batch([])).tolist() == []
