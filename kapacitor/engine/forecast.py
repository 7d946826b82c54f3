"""holt_winters(v, h, season): a Holt-Winters forecast over each row's window.

The model is fitted anew on every window it receives (kapacitor/engine/holtwinters.py), which
costs milliseconds, not microseconds: it runs once per row *with* a window, so windows with
`every=` (or a count window of per-period aggregates, fed only when a period closes) keep it
cheap. It is the one operator that runs Python code per row; the loop covers only the rows
holding a window.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from kapacitor.dsl.ast import Call
from kapacitor.dsl.check import BoundCall
from kapacitor.dsl.functions import FUNCTIONS
from kapacitor.engine.columns import Scalar, Vector
from kapacitor.engine.holtwinters import forecast
from kapacitor.engine.ops import Kind, PlanContext, Planners


@dataclass(frozen=True, slots=True)
class ForecastOp:
    """`holt_winters(%arg, h, season)` over the window column `arg`."""

    arg: int
    h: int
    season: int

    def inputs(self) -> tuple[int, ...]:
        return (self.arg,)

    def remap(self, f: Callable[[int], int]) -> ForecastOp:
        return dataclasses.replace(self, arg=f(self.arg))

    def describe(self) -> str:
        return f"forecast.holt_winters %{self.arg} h={self.h} season={self.season}"


def plan_forecast(ctx: PlanContext, node: Call, call: BoundCall) -> int:
    """Plan `holt_winters(window, h, season=0)`; the checker has made h and season constants."""
    vec = ctx.expr(call.args["v"])
    assert ctx.kind(vec) is Kind.VEC, "the checker takes a vector"
    h = ctx.checked.constant(call.args["h"])
    season = 0 if "season" not in call.args else ctx.checked.constant(call.args["season"])
    assert isinstance(h, int) and isinstance(season, int)
    return ctx.emit(ForecastOp(vec, h, season), Kind.NUM)


PLANNERS: Planners = {FUNCTIONS["holt_winters"]: plan_forecast}


def apply_forecast(op: ForecastOp, vec: Vector) -> Scalar:
    """The forecast of every row's window; no value where there is no window or forecast."""
    m = vec.lo.shape[0]
    out = np.zeros(m, np.float64)
    ok = np.zeros(m, np.bool_)
    for r in np.flatnonzero(vec.valid).tolist():
        value = forecast(vec.ext[vec.lo[r] : vec.hi[r]], op.h, op.season)
        if value is not None:
            out[r], ok[r] = value, True
    return Scalar(out, ok)
