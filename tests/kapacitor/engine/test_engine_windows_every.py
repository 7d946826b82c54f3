"""Windows with every=/align=, vector functions (distinct, top, bottom) and mode: the vectorized
engine against a per-point reference (Kapacitor's window algorithm, point by point), plus
explicit scenarios taken from the Kapacitor conformance vectors."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

import pytest
from engine_testkit import (
    SECOND,
    Reference,
    Row,
    alert,
    assert_runs_match,
    assert_snapshot_continues,
    make_batch,
    planned,
    script,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from test_engine_vs_reference import Stream, streams

from kapacitor.clock import ManualClock
from kapacitor.dsl.ast import Bool, Call, Duration, Expr, Ident, Keyword, Number, Script
from kapacitor.dsl.compile import compile_script
from kapacitor.engine import PluginRuntime, build_program
from kapacitor.engine.alert import AlertState
from kapacitor.errors import DslTypeError
from kapacitor.model.batch import FieldType

X = Ident("x")


def hop(x: Expr, size: int | str, every: int | str, align: bool = False) -> Call:
    def spec(v: int | str) -> Expr:
        if isinstance(v, str):
            return Duration(int(v[:-1]) * SECOND, v)
        return Number(v)

    kw = [Keyword("every", spec(every))]
    if align:
        kw.append(Keyword("align", Bool(True)))
    return Call("window", (x, spec(size)), tuple(kw))


def call(name: str, *args: Expr) -> Call:
    return Call(name, args)


@dataclass
class _Hop:
    buf: list[tuple[int, float]] = field(default_factory=list)
    seen: int = 0
    first: int | None = None
    next_emit: int = 0


def _ref_agg(name: str, vs: list[float], p: float | None) -> float | None:
    if not vs:
        return 0.0 if name in ("count", "sum") else None
    if name == "mode":
        counts = collections.Counter(vs)
        best = max(counts.values())
        return min(v for v, c in counts.items() if c == best)
    from engine_testkit import ref_aggregate

    return ref_aggregate(name, vs, p)


class HopReference(Reference):
    """The testkit's reference, plus every=/align=, distinct/top/bottom and mode."""

    def __init__(self, plugin: str, scr: Script) -> None:
        super().__init__(plugin, scr)
        self.hops: dict[tuple[str, tuple[int, ...]], _Hop] = {}

    def ev(
        self, node: Expr, path: tuple[int, ...], key: str, t: int, vals: dict[str, float]
    ) -> float | list[float] | None:
        if not isinstance(node, Call):
            return super().ev(node, path, key, t, vals)
        if node.name == "window" and node.kwargs:
            v = self.ev(node.args[0], (*path, 0), key, t, vals)
            if v is None:
                return None
            assert isinstance(v, float)
            opts = {kw.name: kw.value for kw in node.kwargs}
            w = self.hops.setdefault((key, path), _Hop())
            size, every = node.args[1], opts["every"]
            if isinstance(size, Number):
                assert isinstance(every, Number)
                w.seen += 1
                w.buf = [*w.buf, (t, v)][-int(size.value) :]
                ok = w.seen >= size.value and w.seen % int(every.value) == 0
                return [x for _, x in w.buf] if ok else None
            assert isinstance(size, Duration) and isinstance(every, Duration)
            align = isinstance(opts.get("align"), Bool)
            e, d = every.ns, size.ns

            def after(tt: int) -> int:
                return (tt // e + 1) * e if align else tt + e

            if w.first is None:
                w.first, w.next_emit = t, after(t)
            out = None
            if t >= w.next_emit:
                b = w.next_emit
                if b - d >= w.first:
                    out = [x for tt, x in w.buf if b - d <= tt < b]
                w.next_emit = after(t)
            w.buf = [(tt, x) for tt, x in [*w.buf, (t, v)] if tt >= w.next_emit - d]
            return out
        if node.name in ("distinct", "top", "bottom", "mode") or (
            node.name in ("count", "sum", "avg", "max", "min", "first", "last", "median")
            and isinstance(node.args[0], Call)
            and (node.args[0].kwargs or node.args[0].name in ("distinct", "top", "bottom"))
        ):
            vs = self.ev(node.args[0], (*path, 0), key, t, vals)
            if vs is None:
                return None
            assert isinstance(vs, list)
            if node.name == "distinct":
                return sorted(set(vs))
            if node.name in ("top", "bottom"):
                nn = node.args[1]
                assert isinstance(nn, Number)
                sign = -1 if node.name == "top" else 1
                best = sorted(range(len(vs)), key=lambda i: (sign * vs[i], i))[: int(nn.value)]
                return [vs[i] for i in sorted(best)]
            return _ref_agg(node.name, vs, None)
        return super().ev(node, path, key, t, vals)


SCRIPTS: dict[str, Script] = {
    "count-hop-3-2": script(alert(call("sum", hop(X, 3, 2)), ">", 90)),
    "count-tumbling-2": script(alert(call("avg", hop(X, 2, 2)), ">", 30)),
    "time-hop-4s-2s": script(alert(call("count", hop(X, "4s", "2s")), ">=", 3)),
    "time-hop-avg": script(alert(call("avg", hop(X, "3s", "2s")), ">", 30)),
    "time-tumbling-3s": script(alert(call("max", hop(X, "3s", "3s")), ">", 40)),
    "time-aligned-5s-2s": script(alert(call("sum", hop(X, "5s", "2s", True)), ">", 60)),
    "time-aligned-empty": script(alert(call("count", hop(X, "2s", "3s", True)), "<", 1)),
    "time-gap-every-gt-size": script(alert(call("last", hop(X, "2s", "5s")), ">", 30)),
    "distinct": script(
        alert(call("count", call("distinct", call("window", X, Number(5)))), ">", 3)
    ),
    "distinct-hop": script(alert(call("first", call("distinct", hop(X, "4s", "2s"))), ">", 20)),
    "top": script(
        alert(call("avg", call("top", call("window", X, Number(6)), Number(2))), ">", 45)
    ),
    "bottom-first": script(
        alert(call("first", call("bottom", call("window", X, Number(5)), Number(3))), "<", 20)
    ),
    "top-last-hop": script(
        alert(call("last", call("top", hop(X, "5s", "2s"), Number(2))), ">", 30)
    ),
    "mode": script(alert(call("mode", call("window", X, Number(4))), ">", 30)),
    "mode-time": script(alert(call("mode", call("window", X, Duration(3 * SECOND, "3s"))), "<", 9)),
}


def run_both(name: str, stream: Stream) -> None:
    scr = SCRIPTS[name]
    runtime = PluginRuntime("p", planned(scr), ManualClock())
    ref = HopReference("p", scr)
    assert_runs_match(runtime, ref, stream)
    assert runtime.stats.points_late == ref.late


@pytest.mark.parametrize("name", sorted(SCRIPTS))
# dear: each example runs a whole stream through engine and reference
@settings(max_examples=settings.default.max_examples * 3 // 5)
@given(stream=streams())
def test_engine_matches_reference(name: str, stream: Stream) -> None:
    run_both(name, stream)


@pytest.mark.parametrize("name", ["count-hop-3-2", "time-hop-4s-2s", "time-aligned-5s-2s", "top"])
# dear: each example runs a stream twice, through a snapshot
@settings(max_examples=settings.default.max_examples * 2 // 5)
@given(stream=streams(), data=st.data())
def test_snapshot_restore_continues_exactly(name: str, stream: Stream, data: st.DataObject) -> None:
    assert_snapshot_continues(SCRIPTS[name], stream, data.draw(st.integers(0, len(stream))))


# -- explicit scenarios ---------------------------------------------------------------------


def run(
    source: str, times: list[int], values: list[float] | None = None
) -> list[tuple[int, float]]:
    """(time in s, value) of every firing event; the alert in `source` always fires on a
    yielding row when written `>= -1`, so each event marks one emitted window."""
    rt = PluginRuntime("p", build_program(compile_script(source)), ManualClock())
    vals = values if values is not None else [1.0] * len(times)
    out = []
    for t, v in zip(times, vals, strict=True):  # one point per batch: also tests carrying
        batch, idx, keys, tags, _ = make_batch(
            [Row(0, t * SECOND, {"x": v})], {"x": FieldType.FLOAT}
        )
        for e in rt.process(batch, idx, keys, tags).events:
            out.append((e.time // SECOND, e.value))
        # re-arm: a recovery is impossible with >= -1, so reset the alert by hand
        for a in rt.states:
            if isinstance(a, AlertState):
                a.level[:] = 0
    return out


def test_window_missing_unaligned_like_kapacitor() -> None:
    # TestStream_WindowMissing: period 3s, every 2s; points at 0, 7, 8, 9, 10, 11 s.
    # Kapacitor emits at 2 ([-1,2), incomplete: nothing here), at 9 ([6,9): 7, 8) and at
    # 11 ([8,11): 8, 9, 10 -> count 3, the vector's final result).
    got = run("alert(count(window(x, 3s, every=2s)), >=, -1)", [0, 7, 8, 9, 10, 11])
    assert got == [(9, 2.0), (11, 3.0)]


def test_window_missing_aligned_like_kapacitor() -> None:
    # TestStream_WindowMissingAligned: boundaries 2 (incomplete), 8 ([5,8): 7), 10 ([7,10)).
    got = run("alert(count(window(x, 3s, every=2s, align=true)), >=, -1)", [0, 7, 8, 9, 10, 11])
    assert got == [(8, 1.0), (10, 3.0)]


def test_tumbling_window_like_kapacitor() -> None:
    # TestStream_Window: period = every = 10s, points 0..11 s: one window [0, 10) at 10 s.
    got = run("alert(count(window(x, 10s, every=10s)), >=, -1)", list(range(12)))
    assert got == [(10, 10.0)]


def test_align_without_every_is_tumbling_on_epoch_multiples() -> None:
    got = run("alert(count(window(x, 10s, align=true)), >=, -1)", list(range(0, 31, 2)))
    # [0,10) is complete (first point at 0): emitted at 10; then [10,20) at 20, [20,30) at 30.
    assert got == [(10, 5.0), (20, 5.0), (30, 5.0)]
    got = run("alert(count(window(x, 10s, align=true)), >=, -1)", list(range(3, 31, 2)))
    assert got == [(21, 5.0)]  # [0,10) starts before the first point (3 s): not emitted


def test_empty_complete_window_counts_zero() -> None:
    # Boundary 2: [1, 2) holds the point at 1 s; the point at 5 s crosses boundary 4:
    # [3, 4) is complete but empty, so count is 0 (and avg would have no value).
    got = run("alert(count(window(x, 1s, every=2s)), >=, -1)", [0, 1, 2, 5])
    assert got == [(2, 1.0), (5, 0.0)]
    assert run("alert(avg(window(x, 1s, every=2s)), >=, -1)", [0, 1, 2, 5]) == [(2, 1.0)]


def test_count_window_every() -> None:
    got = run(
        "alert(sum(window(x, 3, every=2)), >=, -1)", list(range(8)), [float(i) for i in range(8)]
    )
    # counts 4, 6, 8 (>= 3 and even): windows {1,2,3}, {3,4,5}, {5,6,7}
    assert got == [(3, 6.0), (5, 12.0), (7, 18.0)]


def test_late_points_are_dropped_before_hop_windows() -> None:
    rt = PluginRuntime(
        "p",
        build_program(compile_script("alert(count(window(x, 2s, every=2s)), >=, 0)")),
        ManualClock(),
    )
    rows = [Row(0, t * SECOND, {"x": 1.0}) for t in (0, 1, 5, 3, 6)]
    batch, idx, keys, tags, _ = make_batch(rows, {"x": FieldType.FLOAT})
    result = rt.process(batch, idx, keys, tags)
    assert result.late == 1
    assert [(e.time // SECOND, e.value) for e in result.events] == [(5, 2.0)]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("alert(avg(window(x, 10, every=5s)), >, 1)", "every= must be of the same kind"),
        ("alert(avg(window(x, 10s, every=0s)), >, 1)", "every= must be positive"),
        ("alert(avg(window(x, 10, align=true)), >, 1)", "align= only applies to time windows"),
        ("alert(avg(top(window(x, 10), 0)), >, 1)", "top() needs n > 0"),
        ("alert(top(window(x, 10), 2), >, 1)", "vector"),
        ("alert(mode(x), >, 1)", "mode expects a vector"),
        ("alert(count(distinct(x)), >, 1)", "distinct expects a vector"),
    ],
)
def test_diagnostics(source: str, message: str) -> None:
    with pytest.raises(DslTypeError) as e:
        build_program(compile_script(source))
    assert message in str(e.value)
    assert e.value.span.line == 1 and e.value.span.col > 1
