"""The vectorized engine against the per-point reference, over random streams and batchings.

Values are multiples of 1/4 below 1000, so sums are exact in any order and alert conditions
cannot flip on rounding; only the reported values are compared with a tolerance.
"""

from __future__ import annotations

from typing import Any

import pytest
from engine_testkit import (
    Reference,
    Row,
    Stream,
    agg,
    alert,
    assert_runs_match,
    assert_snapshot_continues,
    planned,
    script,
    stream_strategy,
    win,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from kapacitor.clock import ManualClock
from kapacitor.dsl.ast import Binary, Bool, Ident, Let, Number, Script
from kapacitor.engine import PluginRuntime
from kapacitor.engine.window import WindowState

X = Ident("x")
Y = Ident("y")

AGG_THRESHOLDS = {
    "avg": 30,
    "mean": 30,
    "sum": 90,
    "count": 2.5,
    "min": 20,
    "max": 40,
    "first": 30,
    "last": 30,
    "median": 30,
    "spread": 25,
    "stddev": 15,
}

SCRIPTS: dict[str, Script] = {}
for _name, _thr in AGG_THRESHOLDS.items():
    for _size in (1, 3, "4s"):
        SCRIPTS[f"{_name}-{_size}"] = script(alert(agg(_name, win("x", _size)), ">", _thr))
for _size in (4, "5s"):
    SCRIPTS[f"p90-{_size}"] = script(alert(agg("percentile", win("x", _size), Number(90)), ">", 40))
    SCRIPTS[f"p0-{_size}"] = script(alert(agg("percentile", win("x", _size), Number(0)), ">", 1))
SCRIPTS.update(
    {
        "let-two-alerts": script(
            Let("w", win("x", 3)),
            alert(Binary("-", agg("max", Ident("w")), agg("min", Ident("w"))), ">", 20),
            alert(agg("last", Ident("w")), "<=", agg("avg", Ident("w")), level="WARNING"),
        ),
        "two-fields": script(alert(agg("avg", win(Binary("+", X, Y), 3)), ">", 60)),
        "nested-windows": script(alert(agg("max", win(agg("avg", win("x", 2)), 3)), "<", 25)),
        "nested-time-windows": script(
            alert(agg("min", win(agg("sum", win("x", "3s")), "2s")), ">", 40)
        ),
        "division": script(alert(Binary("/", X, Y), ">", 2)),
        "modulo": script(alert(Binary("%", X, Y), ">=", 3)),
        "logic": script(
            alert(
                Binary("and", Binary(">", X, Number(40)), Binary("<", Y, Number(10))),
                "==",
                Bool(True),
            )
        ),
        "mixed-windows": script(
            alert(agg("avg", win("x", "3s")), ">", agg("avg", win("x", 4))),
            alert(agg("count", win("y", "2s")), ">=", 2, level="info"),
        ),
        "bare-field": script(alert(Binary("*", X, Number(2)), ">", 70)),
        "levels": script(alert(agg("avg", win("x", 3)), ">", 45.0123, warn=35.0123, info=25.0123)),
        "levels-warning-column": script(
            alert(X, ">=", 50, level="WARNING", info=Binary("+", Y, Number(10)))
        ),
        "levels-bool": script(
            alert(
                Binary(">", X, Number(45)),
                "==",
                Bool(True),
                warn=Binary(">", agg("max", win("y", "3s")), Number(40)),
                info=Binary("<", X, Number(5)),
            )
        ),
    }
)

streams = stream_strategy


def tags_and_counts(result: Any, rows: list[Row]) -> None:
    for e in result.events:
        assert e.tags == {"host": e.instance.split("=")[1]}
    assert result.points + result.skipped + result.late == len(rows)


def run_both(name: str, stream: Stream, *, force_rank: bool = False) -> None:
    scr = SCRIPTS[name]
    runtime = PluginRuntime("p", planned(scr), ManualClock())
    for w in runtime.states:
        if isinstance(w, WindowState):
            w.force_rank_search = force_rank
    ref = Reference("p", scr)
    assert_runs_match(runtime, ref, stream, tags_and_counts)
    assert runtime.stats.points_processed == ref.points
    assert runtime.stats.points_skipped == ref.skipped
    assert runtime.stats.points_late == ref.late


@pytest.mark.parametrize("name", sorted(SCRIPTS))
# dear: each example runs a whole stream through engine and reference
@settings(max_examples=settings.default.max_examples * 3 // 5)
@given(stream=streams())
def test_engine_matches_reference(name: str, stream: Stream) -> None:
    run_both(name, stream)


@pytest.mark.parametrize("name", ["avg-4s", "p90-5s", "nested-time-windows", "mixed-windows"])
# dear: each example runs a whole stream, or runs it twice
@settings(max_examples=settings.default.max_examples * 2 // 5)
@given(stream=streams())
def test_time_windows_overflow_safe_search(name: str, stream: Stream) -> None:
    """The rank-based grouped search (used when time keys could overflow) agrees too."""
    run_both(name, stream, force_rank=True)


@pytest.mark.parametrize("name", ["avg-3", "avg-4s", "let-two-alerts", "nested-time-windows"])
# dear: each example runs a whole stream, or runs it twice
@settings(max_examples=settings.default.max_examples * 2 // 5)
@given(stream=streams(), data=st.data())
def test_snapshot_restore_continues_exactly(name: str, stream: Stream, data: st.DataObject) -> None:
    """Half the batches, snapshot, restore into a fresh runtime, the rest: same events."""
    assert_snapshot_continues(SCRIPTS[name], stream, data.draw(st.integers(0, len(stream))))
