"""Stateful stream functions: the vectorized engine against a per-point reference, over random
instances, batch boundaries, missing/non-numeric fields, int/float mixing, equal timestamps
and late points; snapshot/restore; planning; explicit examples.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from functools import partial
from typing import Any

import numpy as np
import pytest
from engine_testkit import (
    SECOND,
    Reference,
    Row,
    Stream,
    agg,
    alert,
    assert_runs_match,
    assert_snapshot_continues,
    checked,
    make_batch,
    planned,
    script,
    stream_strategy,
    win,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from kapacitor.clock import ManualClock
from kapacitor.dsl.ast import Binary, Bool, Call, Duration, Expr, Ident, Keyword, Number, Script
from kapacitor.dsl.compile import compile_script
from kapacitor.dsl.functions import FUNCTIONS, Kind
from kapacitor.engine import PluginRuntime, build_program
from kapacitor.engine.groups import groups_of
from kapacitor.engine.stream import STREAM_FUNCTIONS, grouped_cumsum
from kapacitor.errors import CodecError, DslTypeError
from kapacitor.model.batch import FieldType

X = Ident("x")
Y = Ident("y")
TIMED = ("derivative", "elapsed", "state_duration")


def dur(seconds: int) -> Duration:
    return Duration(seconds * SECOND, f"{seconds}s")


def call(name: str, *args: Expr, **kw: Expr) -> Call:
    return Call(name, args, tuple(Keyword(k, v) for k, v in kw.items()))


def gt(a: Expr, b: float) -> Binary:
    return Binary(">", a, Number(b))


# -- the reference ---------------------------------------------------------------------------


def _timed(node: Expr) -> bool:
    if isinstance(node, Call):
        by_time = node.name in ("sample", "shift") and isinstance(node.args[1], Duration)
        if node.name in TIMED or by_time:
            return True
        if node.name == "window" and isinstance(node.args[1], Duration):
            return True
        return any(_timed(a) for a in node.args)
    if isinstance(node, Binary):
        return _timed(node.left) or _timed(node.right)
    return False


class StreamReference(Reference):
    """engine_testkit.Reference plus the stream functions, one point at a time."""

    def __init__(self, plugin: str, scr: Script) -> None:
        super().__init__(plugin, scr)
        self.timed = any(_timed(a) for a in self.alerts)
        self.state: dict[tuple[str, tuple[int, ...]], dict[str, Any]] = {}

    def ev(
        self, node: Expr, path: tuple[int, ...], key: str, t: int, vals: dict[str, float]
    ) -> float | list[float] | None:
        if not isinstance(node, Call) or node.name not in _STEP:
            return super().ev(node, path, key, t, vals)
        v = self.ev(node.args[0], (*path, 0), key, t, vals)
        if v is None:
            return None
        assert isinstance(v, float)
        s = self.state.setdefault((key, path), {})
        opts = {kw.name: kw.value for kw in node.kwargs}
        unit_node = node.args[1] if len(node.args) > 1 else opts.get("unit")
        unit = unit_node.ns if isinstance(unit_node, Duration) else SECOND
        return _STEP[node.name](s, v, t, unit, node, opts)


def _derivative(s: dict[str, Any], v: float, t: int, unit: int, node: Call, opts: Any) -> Any:
    if "t" not in s:
        s["v"], s["t"] = v, t
        return None
    if t == s["t"]:
        return None
    diff = v - s["v"]
    out = diff / ((t - s["t"]) / unit)
    s["v"], s["t"] = v, t
    nn = opts.get("non_negative")
    if isinstance(nn, Bool) and nn.value and diff < 0:
        return None
    return out


def _difference(s: dict[str, Any], v: float, t: int, unit: int, node: Call, opts: Any) -> Any:
    prev = s.get("v")
    s["v"] = v
    return None if prev is None else v - prev


def _changed(s: dict[str, Any], v: float, t: int, unit: int, node: Call, opts: Any) -> Any:
    prev = s.get("v")
    s["v"] = v
    return 0.0 if prev is None else float(v != prev)


def _elapsed(s: dict[str, Any], v: float, t: int, unit: int, node: Call, opts: Any) -> Any:
    prev = s.get("t")
    s["t"] = t
    return None if prev is None else (t - prev) / unit


def _cumsum(s: dict[str, Any], v: float, t: int, unit: int, node: Call, opts: Any) -> Any:
    s["sum"] = s.get("sum", 0.0) + v
    return s["sum"]


def _moving_average(s: dict[str, Any], v: float, t: int, unit: int, node: Call, opts: Any) -> Any:
    n_node = node.args[1]
    assert isinstance(n_node, Number)
    n = int(n_node.value)
    dq = s.setdefault("dq", deque(maxlen=n))
    dq.append(v)
    return sum(dq) / n if len(dq) == n else None


def _state_duration(s: dict[str, Any], v: float, t: int, unit: int, node: Call, opts: Any) -> Any:
    if v == 0:
        s.pop("start", None)
        return -1.0
    s.setdefault("start", t)
    return (t - s["start"]) / unit


def _state_count(s: dict[str, Any], v: float, t: int, unit: int, node: Call, opts: Any) -> Any:
    s["n"] = s.get("n", 0) + 1 if v != 0 else 0
    return float(s["n"]) if v != 0 else -1.0


def _sigma(s: dict[str, Any], v: float, t: int, unit: int, node: Call, opts: Any) -> Any:
    n = s["n"] = s.get("n", 0) + 1
    mean, m2 = s.get("mean", 0.0), s.get("m2", 0.0)
    delta = v - mean
    mean += delta / n
    m2 += delta * (v - mean)
    s["mean"], s["m2"] = mean, m2
    if n <= 2 or m2 <= 0:
        return 0.0
    return abs(v - mean) / math.sqrt(m2 / (n - 1))


def _sample(s: dict[str, Any], v: float, t: int, unit: int, node: Call, opts: Any) -> Any:
    every = node.args[1]
    if isinstance(every, Duration):
        bucket = t // every.ns
        keep = s.get("bucket") != bucket
        s["bucket"] = bucket
        return v if keep else None
    assert isinstance(every, Number)
    seen = s.get("seen", 0)
    s["seen"] = seen + 1
    return v if seen % int(every.value) == 0 else None


def _shift(s: dict[str, Any], v: float, t: int, unit: int, node: Call, opts: Any) -> Any:
    hist = s.setdefault("hist", [])
    hist.append((t, v))
    by = node.args[1]
    if isinstance(by, Number):
        n = int(by.value)
        return hist[-1 - n][1] if len(hist) > n else None
    assert isinstance(by, Duration)
    earlier = [hv for ht, hv in hist if ht <= t - by.ns]
    return earlier[-1] if earlier else None


_STEP = {
    "shift": _shift,
    "derivative": _derivative,
    "difference": _difference,
    "changed": _changed,
    "elapsed": _elapsed,
    "cumulative_sum": _cumsum,
    "moving_average": _moving_average,
    "state_duration": _state_duration,
    "state_count": _state_count,
    "sigma": _sigma,
    "sample": _sample,
}

# Thresholds with odd fractions, so that no condition sits on a rounding edge.
SCRIPTS: dict[str, Script] = {
    "derivative": script(alert(call("derivative", X), ">", 3.0123)),
    "derivative-nn-1m": script(
        alert(
            call("derivative", X, Duration(60 * SECOND, "1m"), non_negative=Bool(True)),
            ">",
            150.0123,
        )
    ),
    "difference": script(alert(call("difference", X), "<", -5.0123)),
    "elapsed": script(alert(call("elapsed", X), ">=", 2)),
    "elapsed-ms": script(
        alert(call("elapsed", Y, unit=Duration(SECOND // 1000, "1ms")), "<", 1500)
    ),
    "cumulative_sum": script(
        alert(Binary("%", call("cumulative_sum", X), Number(50)), ">", 25.0123)
    ),
    "moving_average": script(alert(call("moving_average", X, Number(3)), ">", 30.0123)),
    "state_duration": script(alert(call("state_duration", gt(X, 30), dur(1)), ">=", 2)),
    "state_count": script(alert(call("state_count", gt(X, 30)), ">=", 2)),
    "changed-bool": script(alert(call("changed", gt(X, 30)), "==", Bool(True))),
    "changed-num": script(alert(call("changed", X), "==", Bool(True))),
    "sigma": script(alert(call("sigma", X), ">", 1.2345)),
    "sample-n": script(alert(call("sample", X, Number(3)), ">", 30.0123)),
    "sample-4s": script(alert(call("sample", X, dur(4)), ">", 30.0123)),
    "shift-n": script(alert(Binary("-", X, call("shift", X, Number(2))), ">", 5.0123)),
    "shift-3s": script(alert(Binary("-", X, call("shift", X, dur(3))), "<", -5.0123)),
    "shift-of-stream": script(
        alert(call("shift", call("cumulative_sum", Y), Number(1)), ">", 60.5)
    ),
    "two-alerts": script(
        alert(Binary("+", call("derivative", X), call("difference", Y)), ">", 1.0123),
        alert(call("state_count", gt(Y, 20)), ">=", 3, level="warning"),
    ),
    "stream-of-window": script(alert(call("derivative", agg("avg", win("x", "3s"))), ">", 1.0123)),
    "window-of-stream": script(alert(agg("avg", win(call("difference", X), 3)), ">", 2.0123)),
    "stream-of-stream": script(
        alert(call("state_count", gt(call("cumulative_sum", X), 100)), ">=", 4)
    ),
}

streams = partial(
    stream_strategy, steps=(0, 0, 1, 1, 2, 3), bad_types=(0.0, 0.1), absent_fields=False
)


def counts_add_up(result: Any, rows: list[Row]) -> None:
    assert result.points + result.skipped + result.late == len(rows)


def run_both(name: str, stream: Stream) -> None:
    scr = SCRIPTS[name]
    runtime = PluginRuntime("p", planned(scr), ManualClock())
    ref = StreamReference("p", scr)
    assert_runs_match(runtime, ref, stream, counts_add_up)
    assert runtime.stats.points_processed == ref.points
    assert runtime.stats.points_skipped == ref.skipped
    assert runtime.stats.points_late == ref.late


@pytest.mark.parametrize("name", sorted(SCRIPTS))
# dear: each example runs a whole stream through engine and reference
@settings(max_examples=settings.default.max_examples * 3 // 5)
@given(stream=streams())
def test_stream_functions_match_reference(name: str, stream: Stream) -> None:
    run_both(name, stream)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
# dear: each example runs a stream twice, through a snapshot
@settings(max_examples=settings.default.max_examples // 4)
@given(stream=streams(), data=st.data())
def test_snapshot_restore_continues_exactly(name: str, stream: Stream, data: st.DataObject) -> None:
    """Some batches, snapshot, restore into a fresh runtime, the rest: same events, same state."""
    assert_snapshot_continues(SCRIPTS[name], stream, data.draw(st.integers(0, len(stream))))


# -- explicit examples -----------------------------------------------------------------------


def feed(source: str, points: list[tuple[int, int, float | None]]) -> list[tuple[str, int, float]]:
    """Run `source` over (instance, time in s, x or None) points one batch per point; events
    as (level, time in s, value)."""
    rt = PluginRuntime("p", build_program(compile_script(source)), ManualClock())
    out = []
    for inst, t, x in points:
        fields = {} if x is None else {"x": x}
        batch, idx, keys, tags, _ = make_batch(
            [Row(inst, t * SECOND, fields)], {"x": FieldType.FLOAT}
        )
        for e in rt.process(batch, idx, keys, tags).events:
            out.append((e.level, e.time // SECOND, e.value))
    return out


def column(source: str, points: list[tuple[int, int, float | None]], batches: int = 1) -> list[Any]:
    """The value the first alert() compares on each point (None: no value), with the points
    (instance, time in s, x or None) cut into `batches` batches."""
    program = build_program(compile_script(source))
    rt = PluginRuntime("p", program, ManualClock())
    values: list[Any] = []
    for part in np.array_split(np.arange(len(points)), batches):
        rows = [
            Row(
                points[i][0],
                points[i][1] * SECOND,
                {} if points[i][2] is None else {"x": points[i][2]},
            )
            for i in part
        ]
        if not rows:
            continue
        batch, idx, keys, tags, _ = make_batch(rows, {"x": FieldType.FLOAT})
        values += rt.evaluate(batch, idx, keys, tags).by_row(program.alerts[0].value)
    return values


P = [(0, 10, 1.0), (0, 12, 5.0), (0, 12, 9.0), (0, 13, 3.0), (0, 14, None), (0, 16, 7.0)]


@pytest.mark.parametrize("batches", [1, 2, 3, 6])
def test_derivative_examples(batches: int) -> None:
    # first: none; 12s: (5-1)/2; equal time: none (ignored); 13s: (3-5)/1; missing; 16s: 4/3
    assert column("alert(derivative(x), >, 0)", P, batches) == [None, 2.0, None, -2.0, None, 4 / 3]
    got = column("alert(derivative(x, 1m, non_negative=true), >, 0)", P, batches)
    assert got == [None, 120.0, None, None, None, 80.0]


@pytest.mark.parametrize("batches", [1, 2, 6])
def test_difference_elapsed_cumulative_changed(batches: int) -> None:
    assert column("alert(difference(x), >, 0)", P, batches) == [None, 4.0, 4.0, -6.0, None, 4.0]
    assert column("alert(elapsed(x), >, 0)", P, batches) == [None, 2.0, 0.0, 1.0, None, 3.0]
    assert column("alert(elapsed(x, 1ms), >, 0)", P, batches)[1] == 2000.0
    assert column("alert(cumulative_sum(x), >, 0)", P, batches) == [1, 6, 15, 18, None, 25]
    got = column("alert(changed(x > 4), ==, true)", P, batches)
    assert got == [0.0, 1.0, 0.0, 1.0, None, 1.0]


@pytest.mark.parametrize("batches", [1, 3, 6])
def test_state_duration_and_count(batches: int) -> None:
    pts = [(0, 1, 5.0), (0, 2, 6.0), (0, 4, None), (0, 5, 7.0), (0, 6, 1.0), (0, 9, 8.0)]
    assert column("alert(state_duration(x > 4), >, 0)", pts, batches) == [0, 1, None, 4, -1, 0]
    got = column("alert(state_duration(x > 4, 1m), >, 0)", pts, batches)
    assert got == [0, 1 / 60, None, 4 / 60, -1, 0]
    assert column("alert(state_count(x > 4), >, 0)", pts, batches) == [1, 2, None, 3, -1, 1]


def test_sigma_and_moving_average_and_sample() -> None:
    pts = [(0, t, v) for t, v in enumerate([1.0, 3.0, 5.0, 5.0, 5.0, 100.0])]
    sig = column("alert(sigma(x), >, 0)", pts, 2)
    assert sig[:2] == [0.0, 0.0]
    assert sig[2] == pytest.approx(1.0)  # mean 3, sample sd 2, |5 - 3| / 2
    assert sig[5] == pytest.approx(abs(100 - 119 / 6) / np.std([1, 3, 5, 5, 5, 100], ddof=1))
    assert column("alert(moving_average(x, 2), >, 0)", pts, 3) == [None, 2, 4, 5, 5, 52.5]
    assert column("alert(sample(x, 2), >, 0)", pts, 4) == [1, None, 5, None, 5, None]
    timed = [(0, t, float(t)) for t in (0, 1, 3, 4, 5, 9, 10)]
    assert column("alert(sample(x, 3s), >, 0)", timed, 2) == [0, None, 3, None, None, 9, None]


@pytest.mark.parametrize("batches", [1, 2, 7])
def test_shift_by_points_and_by_time(batches: int) -> None:
    pts = [(0, t, float(t)) for t in (0, 1, 3, 4, 5, 9, 10)]
    assert column("alert(shift(x, 2), >, 0)", pts, batches) == [None, None, 0, 1, 3, 4, 5]
    # the newest value at or before t - 3s; none until the series reaches back 3s
    assert column("alert(shift(x, 3s), >, 0)", pts, batches) == [None, None, 0, 1, 1, 5, 5]
    assert column("alert(x - shift(x, 1s), >, 0)", pts, batches) == [None, 1, 2, 1, 1, 4, 1]
    with_gap = [(0, 0, 1.0), (0, 1, None), (0, 2, 3.0), (1, 2, 50.0), (0, 3, 4.0)]
    assert column("alert(shift(x, 1), >, 0)", with_gap, batches) == [None, None, 1, None, 3]


def test_instances_are_independent_and_late_points_dropped() -> None:
    pts = [(0, 10, 1.0), (1, 10, 100.0), (0, 11, 2.0), (1, 12, 50.0), (0, 9, 7.0), (0, 12, 4.0)]
    got = column("alert(derivative(x), >, 0)", pts, 1)
    assert got == [None, None, 1.0, -25.0, None, 2.0]  # (0, 9s) is late: dropped
    # difference() reads no time: no row is late for it
    assert column("alert(difference(x), >, 0)", pts, 1) == [None, None, 1.0, -50.0, 5.0, -3.0]


def test_alert_fires_on_stream_function() -> None:
    events = feed("alert(derivative(x), >, 1)", [(0, 1, 0.0), (0, 2, 5.0), (0, 3, 5.5)])
    assert events == [("CRITICAL", 2, 5.0), ("OK", 3, 0.5)]


# -- planning and checking -------------------------------------------------------------------


def test_plans() -> None:
    program = build_program(
        compile_script(
            "alert(derivative(x, 1m, non_negative=true) + sample(x, 10s) + sample(x, 3), >, 1)\n"
            "alert(moving_average(x, 5), >, avg(window(x, 5)))"
        )
    )
    assert str(program).splitlines() == [
        "%0 = field x",
        "%1 = stream.derivative %0 unit=1m non_negative",
        "%2 = stream.sample %0 every=10s",
        "%3 = binary + %1 %2",
        "%4 = stream.sample %0 every=3",
        "%5 = binary + %3 %4",
        "%6 = alert %5 > 1 level=CRITICAL",
        "%7 = window.count %0 n=5",
        "%8 = agg.avg %7",
        "%9 = alert %8 > %8 level=CRITICAL",
    ]
    assert program.has_time_window
    assert not build_program(compile_script("alert(difference(x), >, 1)")).has_time_window


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("alert(derivative(x, 0s), >, 1)", "1:21: derivative(): 'unit' must be a duration > 0"),
        ("alert(derivative(x, 5), >, 1)", "1:21: derivative() expects a duration for 'unit'"),
        ("alert(sample(x, 0), >, 1)", "1:17: sample(): 'every' must be a number > 0"),
        ("alert(moving_average(x, 0), >, 1)", "1:25: moving_average(): 'n' must be a number"),
        ("alert(state_count(x, 2), >, 1)", "1:22: state_count() takes 1 argument, got 2"),
        ("alert(derivative(x, nonneg=true), >, 1)", "1:21: derivative() has no argument 'nonneg'"),
        ("alert(sigma(window(x, 3)), >, 1)", "1:13: sigma() expects a number for 'x'"),
        ("alert(derivative(x, unit=y), >, 1)", "1:26: 'unit' of derivative() must be known"),
        ("alert(shift(x, 0s), >, 1)", "1:16: shift(): 'by' must be a duration > 0"),
        ("alert(shift(x, -2), >, 1)", "1:16: shift(): 'by' must be a number > 0"),
        ("alert(shift(x, 1000000), >, 1)", "1:16: shift() goes back fewer than 1000000 points"),
        ("alert(shift(x, 2.5), >, 1)", "1:16: shift() expects an int or a duration for 'by'"),
    ],
)
def test_check_errors(source: str, message: str) -> None:
    with pytest.raises(DslTypeError) as e:
        compile_script(source)
    assert str(e.value).startswith(message), str(e.value)


def test_the_checker_rejects_non_constant_options() -> None:
    """Built by hand, past the parser: the checker still rejects them before planning."""
    bad = script(alert(call("sample", X, Ident("n")), ">", 1))
    with pytest.raises(DslTypeError, match="'every' of sample\\(\\) must be known"):
        checked(bad)
    with pytest.raises(DslTypeError, match="'unit' must be a duration > 0"):
        checked(script(alert(call("elapsed", X, dur(0)), ">", 1)))


def test_registry_examples_plan_and_kinds() -> None:
    for name in STREAM_FUNCTIONS:
        fn = FUNCTIONS[name]
        assert fn.kind is Kind.STREAM
        build_program(compile_script(fn.example))


def test_restore_rejects_mismatched_stream_state() -> None:
    program = build_program(compile_script("alert(sigma(x), >, 1)"))
    rt = PluginRuntime("p", program, ManualClock())
    batch, idx, keys, tags, _ = make_batch([Row(0, SECOND, {"x": 1.0})], {"x": FieldType.FLOAT})
    rt.process(batch, idx, keys, tags)
    import msgspec

    raw = msgspec.msgpack.decode(rt.snapshot())
    for bad in (b"", b"abc"):
        raw["streams"][0]["mean"] = bad
        with pytest.raises(CodecError):
            PluginRuntime("p", program, ManualClock()).restore(msgspec.msgpack.encode(raw))
    del raw["streams"][0]["mean"]
    with pytest.raises(CodecError):
        PluginRuntime("p", program, ManualClock()).restore(msgspec.msgpack.encode(raw))
    raw["streams"] = []
    with pytest.raises(CodecError):
        PluginRuntime("p", program, ManualClock()).restore(msgspec.msgpack.encode(raw))


@given(st.lists(st.tuples(st.integers(0, 4), st.floats(-1e6, 1e6)), max_size=60))
def test_grouped_cumsum(rows: list[tuple[int, float]]) -> None:
    rows.sort(key=lambda r: r[0])
    inst = np.array([r[0] for r in rows], np.int64)
    vals = np.array([r[1] for r in rows], np.float64)
    got = grouped_cumsum(vals, groups_of(inst).rank)
    expected: list[float] = []
    for _, grp in itertools.groupby(rows, key=lambda r: r[0]):
        expected += list(itertools.accumulate(v for _, v in grp))
    assert got.tolist() == pytest.approx(expected, rel=1e-9, abs=1e-6)
