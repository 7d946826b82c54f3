"""Checks of windows and of the functions over them beyond their signatures (run by check.py).

A window's size is positive (a count window holds at most MAX_WINDOW_POINTS values) and its
`every=` of the same kind; `percentile(v, p)` takes 0 <= p <= 100; `top(v, n)` /
`bottom(v, n)` a positive `n`; `holt_winters(v, h, season)` a positive horizon and a
season >= 0.
"""

from __future__ import annotations

from collections.abc import Mapping

from kapacitor.dsl.ast import Call, Expr
from kapacitor.dsl.check_context import CheckContext, ExtraCheck
from kapacitor.dsl.types import Type

# The largest count window: the engine keeps that many values per series.
MAX_WINDOW_POINTS = 1_000_000
# The largest n of top()/bottom(): as many values as a count window may hold.
MAX_TOP = MAX_WINDOW_POINTS
# The largest forecast horizon and season of holt_winters(), in values.
MAX_FORECAST = 100_000


def _check_window(ctx: CheckContext, call: Call, args: Mapping[str, Expr]) -> None:
    size_node = args["size"]
    size = ctx.constant(size_node)
    timed = ctx.type_of(size_node) == Type.DURATION
    assert isinstance(size, int)
    if size <= 0:
        raise ctx.error("window size must be positive", size_node.span)
    if not timed and size > MAX_WINDOW_POINTS:
        raise ctx.error(
            f"window size is at most {MAX_WINDOW_POINTS} points; use a duration for long windows",
            size_node.span,
        )
    every_node = args.get("every")
    if every_node is not None:
        every = ctx.constant(every_node)
        assert isinstance(every, int)
        if (ctx.type_of(every_node) == Type.DURATION) != timed:
            kind = "a duration" if timed else "an int (a number of points)"
            raise ctx.error(f"every= must be of the same kind as the size: {kind}", every_node.span)
        if every <= 0:
            raise ctx.error("every= must be positive", every_node.span)
    align_node = args.get("align")
    if align_node is not None and ctx.constant(align_node) is True and not timed:
        raise ctx.error("align= only applies to time windows (a duration size)", align_node.span)


def _check_percentile(ctx: CheckContext, call: Call, args: Mapping[str, Expr]) -> None:
    node = args["p"]
    p = ctx.constant(node)
    assert isinstance(p, int | float)
    if not 0 <= p <= 100:
        raise ctx.error("percentile must be between 0 and 100", node.span)


def _check_top(ctx: CheckContext, call: Call, args: Mapping[str, Expr]) -> None:
    node = args["n"]
    n = ctx.constant(node)
    assert isinstance(n, int)
    if n <= 0:
        raise ctx.error(f"{call.name}() needs n > 0, got {n}", node.span)
    if n > MAX_TOP:
        raise ctx.error(f"{call.name}() takes at most {MAX_TOP} values", node.span)


def _check_holt_winters(ctx: CheckContext, call: Call, args: Mapping[str, Expr]) -> None:
    for name, least in (("h", 1), ("season", 0)):
        node = args.get(name)
        if node is None:
            continue
        value = ctx.constant(node)
        assert isinstance(value, int)
        if not least <= value <= MAX_FORECAST:
            raise ctx.error(
                f"holt_winters(): '{name}' must be between {least} and {MAX_FORECAST}, got {value}",
                node.span,
            )


EXTRA_CHECKS: dict[str, ExtraCheck] = {
    "window": _check_window,
    "percentile": _check_percentile,
    "top": _check_top,
    "bottom": _check_top,
    "holt_winters": _check_holt_winters,
}
