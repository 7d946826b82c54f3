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
from typing import TYPE_CHECKING

import numpy as np

from kapacitor.dsl.ast import Call, Number
from kapacitor.engine.columns import Scalar, Vector
from kapacitor.engine.holtwinters import forecast
from kapacitor.errors import DslTypeError

if TYPE_CHECKING:
    from kapacitor.engine.plan import _Planner


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


def _whole(node: Call, arg: object, what: str, least: int) -> int:
    if (
        not isinstance(arg, Number)
        or not isinstance(arg.value, int)
        or isinstance(arg.value, bool)
        or arg.value < least
    ):
        span = arg.span if isinstance(arg, Number) else node.span
        raise DslTypeError(f"holt_winters() needs {what} >= {least}, got {arg}", span)
    return arg.value


def plan_forecast(planner: _Planner, node: Call) -> int:
    """Plan `holt_winters(window, h, season=0)`; the checker has made h and season literals."""
    from kapacitor.engine.plan import Kind

    if node.kwargs or not 2 <= len(node.args) <= 3:
        raise DslTypeError(
            "holt_winters() takes 2 or 3 arguments: holt_winters(window(x, 100), 10, 24)",
            node.span,
        )
    vec = planner.expr(node.args[0])
    if planner.kind(vec) is not Kind.VEC:
        raise DslTypeError(
            "holt_winters() needs a window: holt_winters(window(x, 100), 10)", node.args[0].span
        )
    h = _whole(node, node.args[1], "a number of steps h", 1)
    season = _whole(node, node.args[2], "a season", 0) if len(node.args) == 3 else 0
    return planner.emit(ForecastOp(vec, h, season), Kind.NUM)


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
