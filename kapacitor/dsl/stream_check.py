"""Checks of the stateful stream functions beyond their signatures (run by check.py).

Units, sample periods and counts must be positive; a moving average is a count window, so its
`n` has the window's limit.
"""

from __future__ import annotations

from collections.abc import Mapping

from kapacitor.dsl.ast import Call, Expr
from kapacitor.dsl.check_context import CheckContext, ExtraCheck
from kapacitor.dsl.types import Type
from kapacitor.dsl.vector_check import MAX_WINDOW_POINTS

# The largest moving_average and shift by points: the engine keeps that many values per series.
MAX_POINTS = MAX_WINDOW_POINTS


def _positive(ctx: CheckContext, call: Call, args: Mapping[str, Expr], name: str) -> None:
    node = args.get(name)
    if node is None:
        return
    value = ctx.constant(node)
    if isinstance(value, int) and not isinstance(value, bool) and value <= 0:
        what = "a duration" if ctx.type_of(node) == Type.DURATION else "a number"
        raise ctx.error(f"{call.name}(): '{name}' must be {what} > 0, got {node}", node.span)


def _check_unit(ctx: CheckContext, call: Call, args: Mapping[str, Expr]) -> None:
    _positive(ctx, call, args, "unit")


def _check_moving_average(ctx: CheckContext, call: Call, args: Mapping[str, Expr]) -> None:
    _positive(ctx, call, args, "n")
    n = ctx.constant(args["n"])
    if isinstance(n, int) and n > MAX_POINTS:
        raise ctx.error(f"moving_average() averages at most {MAX_POINTS} points", args["n"].span)


def _check_sample(ctx: CheckContext, call: Call, args: Mapping[str, Expr]) -> None:
    _positive(ctx, call, args, "every")


def _check_shift(ctx: CheckContext, call: Call, args: Mapping[str, Expr]) -> None:
    _positive(ctx, call, args, "by")
    n = ctx.constant(args["by"])
    if ctx.type_of(args["by"]) == Type.INT and isinstance(n, int) and n >= MAX_POINTS:
        raise ctx.error(f"shift() goes back fewer than {MAX_POINTS} points", args["by"].span)


EXTRA_CHECKS: dict[str, ExtraCheck] = {
    "derivative": _check_unit,
    "elapsed": _check_unit,
    "state_duration": _check_unit,
    "moving_average": _check_moving_average,
    "sample": _check_sample,
    "shift": _check_shift,
}
