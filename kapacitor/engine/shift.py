"""shift(): the value a series had earlier, `n` points before or `d` of time before.

`shift(x, n)` reads the first value of a count window of n + 1 values; `shift(x, d)` reads,
for the row at time t, the newest value with time <= t - d: the value just before a time
window of span d, which that window therefore keeps (WindowState's `keep_before`). Both
yield nothing until the series reaches back that far, exactly when the window is valid (a
time window is valid once `t - d >=` the series' first time). The windows are the runtime's
ordinary window states, so snapshots and late-row dropping need nothing new.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from kapacitor.dsl.ast import Call
from kapacitor.dsl.check import BoundCall
from kapacitor.dsl.functions import FUNCTIONS
from kapacitor.dsl.types import Type
from kapacitor.engine.columns import Scalar, Vector
from kapacitor.engine.ops import Kind, PlanContext, Planners, duration_text
from kapacitor.engine.window import WindowState


@dataclass(frozen=True, slots=True)
class ShiftOp:
    """`shift(%arg, n)` (`n` points back) or `shift(%arg, d)` (`span_ns` of time back)."""

    arg: int
    n: int = 0
    span_ns: int = 0
    text: str = dataclasses.field(compare=False, default="")

    def inputs(self) -> tuple[int, ...]:
        return (self.arg,)

    def remap(self, f: Callable[[int], int]) -> ShiftOp:
        return dataclasses.replace(self, arg=f(self.arg))

    def describe(self) -> str:
        by = f"n={self.n}" if self.n else f"by={self.text or str(self.span_ns) + 'ns'}"
        return f"shift %{self.arg} {by}"

    @property
    def timed(self) -> bool:
        return self.span_ns > 0

    def window(self) -> WindowState:
        if self.n:
            return WindowState(size=self.n + 1)
        return WindowState(span_ns=self.span_ns, keep_before=1)


def plan_shift(ctx: PlanContext, node: Call, call: BoundCall) -> int:
    """Plan `shift(x, by)`; the checker has made `by` a positive constant."""
    x = ctx.scalar(call.args["x"], Kind.NUM, Kind.BOOL)
    by = call.args["by"]
    back = ctx.checked.constant(by)
    assert isinstance(back, int) and back > 0, "the checker takes a count or duration > 0"
    if ctx.checked.type_of(by) == Type.DURATION:
        op = ShiftOp(x, span_ns=back, text=duration_text(ctx.checked, by))
    else:
        op = ShiftOp(x, n=back)
    return ctx.emit(op, ctx.kind(x))


PLANNERS: Planners = {FUNCTIONS["shift"]: plan_shift}


def shifted(op: ShiftOp, vec: Vector) -> Scalar:
    """The shifted column from the window `op.window()` yielded for each row."""
    idx = vec.lo if op.n else vec.lo - 1
    idx = np.where(vec.valid, idx, 0)
    return Scalar(vec.ext[idx], vec.valid)
