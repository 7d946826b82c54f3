"""Checks of the stateful stream functions beyond their signatures (used by check.py).

Units, sample periods and counts must be positive; a moving average is a count window, so its
`n` has the window's limit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from kapacitor.dsl.ast import Call, Expr
from kapacitor.dsl.types import Type

if TYPE_CHECKING:
    from kapacitor.dsl.check import _Checker

# The largest moving_average (the engine keeps that many values per series); check.py's
# MAX_WINDOW_POINTS, repeated to avoid an import cycle.
MAX_POINTS = 1_000_000


def _positive(checker: _Checker, call: Call, args: dict[str, Expr], name: str) -> None:
    node = args.get(name)
    if node is None:
        return
    value = checker.constants.get(id(node))
    if isinstance(value, int) and not isinstance(value, bool) and value <= 0:
        what = "a duration" if checker.types.get(id(node)) == Type.DURATION else "a number"
        raise checker.error(f"{call.name}(): '{name}' must be {what} > 0, got {node}", node.span)


def _check_unit(checker: _Checker, call: Call, args: dict[str, Expr]) -> None:
    _positive(checker, call, args, "unit")


def _check_moving_average(checker: _Checker, call: Call, args: dict[str, Expr]) -> None:
    _positive(checker, call, args, "n")
    n = checker.constants.get(id(args["n"]))
    if isinstance(n, int) and n > MAX_POINTS:
        raise checker.error(
            f"moving_average() averages at most {MAX_POINTS} points", args["n"].span
        )


def _check_sample(checker: _Checker, call: Call, args: dict[str, Expr]) -> None:
    _positive(checker, call, args, "every")


def _check_shift(checker: _Checker, call: Call, args: dict[str, Expr]) -> None:
    _positive(checker, call, args, "by")
    n = checker.constants.get(id(args["by"]))
    if checker.types.get(id(args["by"])) == Type.INT and isinstance(n, int) and n >= MAX_POINTS:
        raise checker.error(f"shift() goes back fewer than {MAX_POINTS} points", args["by"].span)


EXTRA_CHECKS: dict[str, Callable[[_Checker, Call, dict[str, Expr]], None]] = {
    "derivative": _check_unit,
    "elapsed": _check_unit,
    "state_duration": _check_unit,
    "moving_average": _check_moving_average,
    "sample": _check_sample,
    "shift": _check_shift,
}
