"""Checks of the vector functions and deadman() beyond their signatures (used by check.py).

`top(v, n)` / `bottom(v, n)` need a positive `n`; `holt_winters(v, h, season)` a positive
horizon and a season >= 0; `deadman(threshold, interval)` needs a
threshold >= 0, a positive interval and a known level. (Window options are checked in check.py.)
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import TYPE_CHECKING

from kapacitor.dsl.ast import Call, Expr
from kapacitor.dsl.functions import ALERT_LEVELS

if TYPE_CHECKING:
    from kapacitor.dsl.check import _Checker

# The largest n of top()/bottom(): as many values as a count window may hold.
MAX_TOP = 1_000_000


def _check_top(checker: _Checker, call: Call, args: dict[str, Expr]) -> None:
    node = args["n"]
    n = checker.constants[id(node)]
    assert isinstance(n, int)
    if n <= 0:
        raise checker.error(f"{call.name}() needs n > 0, got {n}", node.span)
    if n > MAX_TOP:
        raise checker.error(f"{call.name}() takes at most {MAX_TOP} values", node.span)


def _check_deadman(checker: _Checker, call: Call, args: dict[str, Expr]) -> None:
    thr_node, interval_node = args["threshold"], args["interval"]
    threshold = checker.constants[id(thr_node)]
    assert isinstance(threshold, int | float)
    if not threshold >= 0:
        raise checker.error(
            f"deadman() threshold is a number of points per interval, >= 0, got {threshold}",
            thr_node.span,
        )
    interval = checker.constants[id(interval_node)]
    assert isinstance(interval, int)
    if interval <= 0:
        raise checker.error("deadman() interval must be longer than 0", interval_node.span)
    level_node = args.get("level")
    if level_node is not None:
        level = checker.constants[id(level_node)]
        if isinstance(level, str) and level.lower() in ALERT_LEVELS:
            return
        close = difflib.get_close_matches(str(level).lower(), ALERT_LEVELS, n=1, cutoff=0.5)
        hint = f': did you mean "{close[0]}"?' if close else ""
        raise checker.error(
            f"unknown alert level {str(level)!r}{hint} (levels: info, warning, critical)",
            level_node.span,
        )


# The largest forecast horizon and season of holt_winters(), in values.
MAX_FORECAST = 100_000


def _check_holt_winters(checker: _Checker, call: Call, args: dict[str, Expr]) -> None:
    for name, least in (("h", 1), ("season", 0)):
        node = args.get(name)
        if node is None:
            continue
        value = checker.constants[id(node)]
        assert isinstance(value, int)
        if not least <= value <= MAX_FORECAST:
            raise checker.error(
                f"holt_winters(): '{name}' must be between {least} and {MAX_FORECAST}, got {value}",
                node.span,
            )


EXTRA_CHECKS: dict[str, Callable[[_Checker, Call, dict[str, Expr]], None]] = {
    "top": _check_top,
    "bottom": _check_top,
    "deadman": _check_deadman,
    "holt_winters": _check_holt_winters,
}
