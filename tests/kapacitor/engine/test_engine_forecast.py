"""holt_winters() in the engine (kapacitor/engine/forecast.py): windows, batching, missing
values and snapshots against the per-point reference; planning and checking; a forecast that
continues a seasonal series through the whole engine."""

from __future__ import annotations

import math

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
    make_batch,
    planned,
    script,
    stream_strategy,
    win,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from kapacitor.clock import ManualClock
from kapacitor.dsl.ast import Call, Expr, Number, Script
from kapacitor.dsl.compile import compile_script
from kapacitor.engine import PluginRuntime, build_program, evaluate
from kapacitor.engine.columns import Scalar
from kapacitor.errors import DslTypeError
from kapacitor.model.batch import FieldType


def hw(window: Expr, h: int, season: int | None = None) -> Call:
    args = (window, Number(h)) + (() if season is None else (Number(season),))
    return Call("holt_winters", args)


SCRIPTS: dict[str, Script] = {
    "count-6": script(alert(hw(win("x", 6), 2), ">", 30.0123)),
    "time-4s-season-2": script(alert(hw(win("x", "4s"), 1, 2), "<", 20.0123)),
    "of-averages": script(alert(hw(win(agg("avg", win("y", 2)), 4), 3), ">", 35.0123)),
}

# Each forecast fits a model (about 0.5 ms on small windows): short streams keep this quick.
streams = stream_strategy(max_rows=60)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
# dear: each example fits forecasts over a whole stream
@settings(max_examples=settings.default.max_examples // 4)
@given(stream=streams)
def test_engine_matches_reference(name: str, stream: Stream) -> None:
    runtime = PluginRuntime("p", planned(SCRIPTS[name]), ManualClock())
    assert_runs_match(runtime, Reference("p", SCRIPTS[name]), stream)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
# dearest: forecasts fitted twice per example, through a snapshot
@settings(max_examples=settings.default.max_examples // 10)
@given(stream=streams, data=st.data())
def test_snapshot_restore_continues_exactly(name: str, stream: Stream, data: st.DataObject) -> None:
    assert_snapshot_continues(SCRIPTS[name], stream, data.draw(st.integers(0, len(stream))))


def season_value(i: int) -> float:
    """A rising line times a season of 4: what Holt-Winters models exactly."""
    return (100 + 2 * i) * (1.0, 1.2, 0.9, 0.9)[i % 4]


def test_forecast_continues_a_seasonal_series_through_the_engine() -> None:
    source = "alert(holt_winters(window(x, 24, every=4), 4, 4), >, 1e9)"
    program = build_program(compile_script(source))
    rows = [Row(0, i * SECOND, {"x": season_value(i)}) for i in range(24)]
    batch, idx, keys, tags, _ = make_batch(rows, {"x": FieldType.FLOAT})
    col = evaluate(program, batch, idx, keys, tags).columns[program.alerts[0].value]
    assert isinstance(col, Scalar) and col.valid is not None
    assert col.valid.tolist() == [False] * 23 + [True]
    assert math.isclose(col.values[-1], season_value(27), rel_tol=1e-3)


def test_plan_and_sharing() -> None:
    text = str(
        build_program(
            compile_script(
                "let w = window(x, 48, every=12)\n"
                "alert(holt_winters(w, 6, 12) - last(w), >, 10)\n"
                "alert(holt_winters(w, 6, 12), >, 100)"
            )
        )
    )
    assert text.splitlines()[:3] == [
        "%0 = field x",
        "%1 = window.count %0 n=48 every=12  # let w",
        "%2 = forecast.holt_winters %1 h=6 season=12",
    ]
    assert text.count("forecast.holt_winters") == 1


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("alert(holt_winters(window(x, 10), 0), >, 1)", "1:35: holt_winters(): 'h' must be"),
        ("alert(holt_winters(window(x, 10), 2, -1), >, 1)", "1:38: holt_winters(): 'season'"),
        (
            "alert(holt_winters(x, 2), >, 1)",
            "1:20: holt_winters expects a vector, got a scalar: did you mean holt_winters(window(",
        ),
        ("alert(holt_winters(window(x, 10), 1.5), >, 1)", "1:35: holt_winters() expects an int"),
        ("alert(holt_winters(window(x, 10), y), >, 1)", "1:35: 'h' of holt_winters() must be"),
    ],
)
def test_check_errors(source: str, message: str) -> None:
    with pytest.raises(DslTypeError) as e:
        compile_script(source)
    assert str(e.value).startswith(message), str(e.value)
