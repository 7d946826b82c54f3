"""Shared helpers for the engine tests: batch building and a per-point reference engine.

The reference interprets the syntax tree one point at a time with dicts of deques, exactly as
docs/engine.md states the semantics, so the vectorized engine can be compared against it.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kapacitor.dsl.ast import (
    Binary,
    Bool,
    Call,
    Duration,
    Expr,
    Ident,
    Keyword,
    Let,
    Number,
    OpRef,
    Script,
    String,
    Unary,
)
from kapacitor.dsl.check import CheckedScript, check
from kapacitor.engine.plan import Program
from kapacitor.model.batch import Column, FieldType, PointBatch, SeriesKey

SECOND = 1_000_000_000


# -- building scripts -----------------------------------------------------------------------


def win(x: Expr | str, size: int | str) -> Call:
    arg = Ident(x) if isinstance(x, str) else x
    if isinstance(size, str):
        assert size.endswith("s")
        spec: Expr = Duration(int(size[:-1]) * SECOND, size)
    else:
        spec = Number(size)
    return Call("window", (arg, spec))


def agg(name: str, x: Expr, *extra: Expr) -> Call:
    return Call(name, (x, *extra))


def alert(x: Expr, op: str, thr: Expr | float, **kw: str | float | Expr) -> Call:
    """alert(x, op, thr, ...): string options become String literals, numbers Numbers."""

    def literal(v: str | float | Expr) -> Expr:
        if isinstance(v, str):
            return String(v)
        return Number(v) if isinstance(v, int | float) else v

    t = literal(thr)
    return Call("alert", (x, OpRef(op), t), tuple(Keyword(k, literal(v)) for k, v in kw.items()))


def script(*stmts: Let | Expr) -> Script:
    return Script(tuple(stmts))


def checked(scr: Script) -> CheckedScript:
    """A hand-built script, checked (its printed form stands for the source)."""
    return check(scr, str(scr))


def planned(scr: Script) -> Program:
    """A hand-built script, checked and planned: the planner takes only checked scripts."""
    from kapacitor.engine import build_program

    return build_program(checked(scr))


# -- building batches -----------------------------------------------------------------------


@dataclass
class Row:
    inst: int
    time: int
    fields: dict[str, Any]  # value, or absent


NUMERIC = {FieldType.FLOAT, FieldType.INT, FieldType.UINT}


def make_batch(
    rows: list[Row], types: dict[str, FieldType]
) -> tuple[PointBatch, np.ndarray, list[str], list[dict[str, str]], list[dict[str, Any]]]:
    """A batch of `rows` whose field `f` has column type `types[f]`.

    Returns the batch, instance_idx, keys, tags, and per row the field values as the engine
    should see them (only numeric, present ones).
    """
    insts = sorted({r.inst for r in rows}, reverse=True)  # keys order differs from ids
    pos = {i: k for k, i in enumerate(insts)}
    keys = [f"cpu,host=h{i}" for i in insts] + ["cpu,host=unused"]
    tags = [{"host": f"h{i}"} for i in insts] + [{"host": "unused"}]
    n = len(rows)
    fields: dict[str, Column] = {}
    seen: list[dict[str, Any]] = [{} for _ in rows]
    for name, ftype in types.items():
        present = np.array([name in r.fields for r in rows], dtype=np.bool_)
        raw = [r.fields.get(name, 0) for r in rows]
        if ftype is FieldType.FLOAT:
            vals: np.ndarray = np.array([float(v) for v in raw], np.float64)
        elif ftype is FieldType.INT:
            vals = np.array([int(v) for v in raw], np.int64)
        elif ftype is FieldType.UINT:
            vals = np.array([abs(int(v)) for v in raw], np.uint64)
        elif ftype is FieldType.BOOL:
            vals = np.array([bool(v) for v in raw], np.bool_)
        else:
            vals = np.array([str(v) for v in raw], dtype=object)
        fields[name] = Column(ftype, vals, None if present.all() else present)
        if ftype in NUMERIC:
            for i in range(n):
                if present[i]:
                    seen[i][name] = float(vals[i])
    series = [SeriesKey("cpu", (("host", f"h{i}"),)) for i in range(max(insts, default=0) + 1)]
    batch = PointBatch(
        "db",
        "rp",
        series,
        np.array([r.inst for r in rows], np.int32),
        np.array([r.time for r in rows], np.int64),
        fields,
    )
    idx = np.array([pos[r.inst] for r in rows], np.int64)
    return batch, idx, keys, tags, seen


# -- random streams ---------------------------------------------------------------------------

TYPES = [FieldType.FLOAT, FieldType.INT, FieldType.UINT, FieldType.STRING, FieldType.BOOL]
Stream = list[tuple[list["Row"], dict[str, FieldType]]]


def stream_strategy(
    *,
    max_rows: int = 250,
    steps: Sequence[int] = (0, 1, 1, 1, 2, 3),
    bad_types: Sequence[float] = (0.0, 0.1, 0.3),
    absent_fields: bool = True,
) -> Any:
    """A hypothesis strategy of random streams: rows of instances 0..5 with fields x and y
    (values multiples of 1/4 below 61, so sums are exact in any order), equal timestamps
    (`steps` holds the clock increments, in s), late and missing values, cut into random
    batches whose field columns are int, uint, float or, with a probability drawn from
    `bad_types`, another type; with `absent_fields` a batch may lack a field entirely.

    Shape parameters come from hypothesis (and shrink); the details from a seeded RNG.
    """
    from hypothesis import strategies as st

    @st.composite
    def streams(draw: st.DrawFn) -> Stream:
        n_rows = draw(st.integers(0, max_rows))
        n_inst = draw(st.integers(1, 6))
        p_missing = draw(st.sampled_from([0.0, 0.05, 0.3]))
        p_late = draw(st.sampled_from([0.0, 0.05, 0.2]))
        p_bad_type = draw(st.sampled_from(list(bad_types)))
        rng = random.Random(draw(st.integers(0, 2**32)))

        def value() -> float:
            return float(rng.randint(0, 60)) if rng.random() < 0.5 else rng.randint(0, 240) / 4

        clock = 100
        rows = []
        for _ in range(n_rows):
            clock += rng.choice(steps)
            late = rng.choice([1, 2, 5]) if rng.random() < p_late else 0
            fields = {f: value() for f in ("x", "y") if rng.random() >= p_missing}
            rows.append(Row(rng.randrange(n_inst), (clock - late) * SECOND, fields))
        cuts = sorted(rng.randrange(n_rows + 1) for _ in range(rng.randint(0, 12)))
        out = []
        for a, b in itertools.pairwise([0, *cuts, n_rows]):
            types = {}
            for f in ("x", "y"):
                if rng.random() < p_bad_type:
                    types[f] = rng.choice(TYPES[3:])
                elif absent_fields and rng.random() < p_bad_type / 3:
                    continue  # a batch without the field at all
                else:
                    types[f] = rng.choice(TYPES[:3])
            out.append((rows[a:b], types))
        return out

    return streams()


# -- the reference engine -------------------------------------------------------------------


def ref_aggregate(name: str, vs: list[float], p: float | None = None) -> float | None:
    if name in ("avg", "mean"):
        return sum(vs) / len(vs)
    if name == "sum":
        return float(sum(vs))
    if name == "count":
        return float(len(vs))
    if name == "min":
        return min(vs)
    if name == "max":
        return max(vs)
    if name == "first":
        return vs[0]
    if name == "last":
        return vs[-1]
    if name == "spread":
        return max(vs) - min(vs)
    s = sorted(vs)
    if name == "median":
        n = len(s)
        if n % 2:
            return s[n // 2]
        lo, hi = s[n // 2 - 1], s[n // 2]
        return lo + (hi - lo) / 2
    if name == "percentile":
        assert p is not None
        i = math.floor(len(s) * p / 100 + 0.5) - 1
        return s[i] if 0 <= i < len(s) else None
    if name == "stddev":
        if len(vs) < 2:
            return None
        m = sum(vs) / len(vs)
        return math.sqrt(sum((v - m) ** 2 for v in vs) / (len(vs) - 1))
    raise AssertionError(name)


@dataclass
class _Win:
    dq: deque[tuple[int, float]] = field(default_factory=deque)
    seen: int = 0
    first: int | None = None


@dataclass(frozen=True)
class RefEvent:
    id: str
    level: str
    previous_level: str
    value: float
    time: int
    duration: int


_CMP = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def _expand(node: Expr, lets: dict[str, Expr]) -> Expr:
    if isinstance(node, Ident):
        return lets.get(node.name, node)
    if isinstance(node, Unary):
        return Unary(node.op, _expand(node.operand, lets))
    if isinstance(node, Binary):
        return Binary(node.op, _expand(node.left, lets), _expand(node.right, lets))
    if isinstance(node, Call):
        return Call(node.name, tuple(_expand(a, lets) for a in node.args), node.kwargs)
    return node


def _fields_of(node: Expr, out: set[str]) -> None:
    if isinstance(node, Ident):
        out.add(node.name)
    elif isinstance(node, Unary):
        _fields_of(node.operand, out)
    elif isinstance(node, Binary):
        _fields_of(node.left, out)
        _fields_of(node.right, out)
    elif isinstance(node, Call):
        for a in node.args:
            _fields_of(a, out)


def _has_time_window(node: Expr) -> bool:
    if isinstance(node, Call):
        if node.name == "window" and isinstance(node.args[1], Duration):
            return True
        args = (*node.args, *(kw.value for kw in node.kwargs))
        return any(_has_time_window(a) for a in args)
    if isinstance(node, Unary):
        return _has_time_window(node.operand)
    if isinstance(node, Binary):
        return _has_time_window(node.left) or _has_time_window(node.right)
    return False


_LOWER = {"warn": "WARNING", "info": "INFO"}  # alert()'s lower levels, highest first


class Reference:
    """Per-point interpreter of a script; `feed` returns events in row order.

    A missing (or non-numeric) field gives the expressions over it no value for that point;
    late points (time window scripts) are dropped before anything else.
    """

    def __init__(self, plugin: str, scr: Script) -> None:
        self.plugin = plugin
        lets: dict[str, Expr] = {}
        self.alerts: list[Call] = []
        for st in scr.statements:
            if isinstance(st, Let):
                lets[st.name] = _expand(st.value, lets)
            else:
                assert isinstance(st, Call) and st.name == "alert"
                self.alerts.append(_expand(st, lets))  # type: ignore[arg-type]
        self.fields: set[str] = set()
        for a in self.alerts:
            _fields_of(a.args[0], self.fields)
            _fields_of(a.args[2], self.fields)
            for kw in a.kwargs:
                if kw.name in _LOWER:
                    _fields_of(kw.value, self.fields)
        self.timed = any(_has_time_window(a) for a in self.alerts)
        self.wins: dict[tuple[str, tuple[int, ...]], _Win] = {}
        self.level: dict[tuple[int, str], str] = {}
        self.fired_at: dict[tuple[int, str], int] = {}
        self.newest: dict[str, int] = {}
        self.skipped = 0
        self.late = 0
        self.points = 0

    def feed(self, rows: list[tuple[str, int, dict[str, float]]]) -> list[RefEvent]:
        events: list[RefEvent] = []
        for key, t, vals in rows:
            if self.timed:
                if key in self.newest and t < self.newest[key]:
                    self.late += 1
                    continue
                self.newest[key] = t
            if self.fields <= vals.keys():
                self.points += 1
            else:
                self.skipped += 1
            for k, a in enumerate(self.alerts):
                x = self.ev(a.args[0], (k, 0), key, t, vals)
                thr = self.ev(a.args[2], (k, 2), key, t, vals)
                opts = {kw.name: kw.value for kw in a.kwargs}
                # Every expression sees every point (windows in warn= keep their state).
                lower = {
                    name: self.ev(opts[name], (k, 3 + i), key, t, vals)
                    for i, name in enumerate(_LOWER)
                    if name in opts
                }
                if x is None or thr is None:
                    continue
                assert isinstance(x, float) and isinstance(thr, float)
                op = a.args[1]
                assert isinstance(op, OpRef)
                level = "CRITICAL"
                if "level" in opts:
                    assert isinstance(opts["level"], String)
                    level = opts["level"].value.upper()
                boolean = isinstance(a.args[2], Bool)
                now = level if _CMP[op.op](x, thr) else "OK"
                for name, v in lower.items():  # warn before info: the higher level wins
                    if now != "OK" or v is None:
                        continue
                    assert isinstance(v, float)
                    if _CMP[op.op](v, thr) if boolean else _CMP[op.op](x, v):
                        now = _LOWER[name]
                was = self.level.get((k, key), "OK")
                if now == was:
                    continue
                self.level[(k, key)] = now
                eid = f"{self.plugin}:{key}" + (f"#{k}" if len(self.alerts) > 1 else "")
                if was == "OK":
                    self.fired_at[(k, key)] = t
                duration = 0 if was == "OK" else t - self.fired_at[(k, key)]
                events.append(RefEvent(eid, now, was, x, t, duration))
        return events

    def ev(
        self, node: Expr, path: tuple[int, ...], key: str, t: int, vals: dict[str, float]
    ) -> float | list[float] | None:
        if isinstance(node, Ident):
            return vals.get(node.name)
        if isinstance(node, Number):
            return float(node.value)
        if isinstance(node, Bool):
            return 1.0 if node.value else 0.0
        if isinstance(node, Unary):
            v = self.ev(node.operand, (*path, 0), key, t, vals)
            if v is None:
                return None
            assert isinstance(v, float)
            return -v if node.op == "-" else float(v == 0)
        if isinstance(node, Binary):
            a = self.ev(node.left, (*path, 0), key, t, vals)
            b = self.ev(node.right, (*path, 1), key, t, vals)
            if a is None or b is None:
                return None
            assert isinstance(a, float) and isinstance(b, float)
            return _binary(node.op, a, b)
        assert isinstance(node, Call)
        if node.name == "window":
            v = self.ev(node.args[0], (*path, 0), key, t, vals)
            if v is None:
                return None
            assert isinstance(v, float)
            w = self.wins.setdefault((key, path), _Win())
            spec = node.args[1]
            w.dq.append((t, v))
            w.seen += 1
            if isinstance(spec, Number):
                if len(w.dq) > int(spec.value):
                    w.dq.popleft()
                return [x for _, x in w.dq] if w.seen >= int(spec.value) else None
            assert isinstance(spec, Duration)
            if w.first is None:
                w.first = t
            while w.dq[0][0] <= t - spec.ns:
                w.dq.popleft()
            return [x for _, x in w.dq] if t - spec.ns >= w.first else None
        vs = self.ev(node.args[0], (*path, 0), key, t, vals)
        if vs is None:
            return None
        assert isinstance(vs, list)
        if node.name == "holt_winters":
            return _ref_holt_winters(node, vs)
        p = None
        if node.name == "percentile":
            pn = node.args[1]
            assert isinstance(pn, Number)
            p = float(pn.value)
        return ref_aggregate(node.name, vs, p)


def _ref_holt_winters(node: Call, vs: list[float]) -> float | None:
    """The fit itself is tested against a grid search (test_engine_holtwinters.py); here the
    engine's windows, batching and validity are what is compared."""
    from kapacitor.engine.holtwinters import forecast

    h, *season = (a.value for a in node.args[1:] if isinstance(a, Number))
    return forecast(np.array(vs, np.float64), int(h), int(season[0]) if season else 0)


def _binary(op: str, a: float, b: float) -> float | None:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return None if b == 0 else a / b
    if op == "%":
        return None if b == 0 else math.fmod(a, b)
    if op in _CMP:
        return float(_CMP[op](a, b))
    if op == "and":
        return float(a != 0 and b != 0)
    if op == "or":
        return float(a != 0 or b != 0)
    raise AssertionError(op)


def assert_snapshot_continues(script: Script, stream: list[Any], split: int) -> None:
    """Run `stream` whole, and again with a snapshot after batch `split` restored into a fresh
    runtime: the events and the final state must be the same."""
    from kapacitor.clock import ManualClock
    from kapacitor.engine import PluginRuntime

    program = planned(script)
    whole = PluginRuntime("p", program, ManualClock())
    first = PluginRuntime("p", program, ManualClock())
    expected: list[Any] = []
    got: list[Any] = []
    for i, (rows, types) in enumerate(stream):
        batch, idx, keys, tags, _ = make_batch(rows, types)
        expected += whole.process(batch, idx, keys, tags).events
        if i == split:
            second = PluginRuntime("p", planned(script), ManualClock())
            second.restore(first.snapshot())
            first = second
        got += first.process(batch, idx, keys, tags).events
    assert got == expected
    assert whole.snapshot() == first.snapshot()


def assert_runs_match(
    runtime: Any,
    ref: Any,
    stream: list[Any],
    per_batch: Any = None,
) -> None:
    """Feed every batch of `stream` to the engine `runtime` and to the per-point reference
    `ref`; their events must agree (values approximately). `per_batch(result, rows)` adds a
    suite's own checks."""
    import pytest

    for rows, types in stream:
        batch, idx, keys, tags, seen = make_batch(rows, types)
        result = runtime.process(batch, idx, keys, tags)
        expected = ref.feed([(keys[int(idx[i])], r.time, seen[i]) for i, r in enumerate(rows)])
        got = [(e.id, e.level, e.previous_level, e.time, e.duration) for e in result.events]
        assert got == [(e.id, e.level, e.previous_level, e.time, e.duration) for e in expected]
        assert [e.value for e in result.events] == pytest.approx([e.value for e in expected])
        if per_batch is not None:
            per_batch(result, rows)
