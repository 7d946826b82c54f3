"""Checks of the output statements, alert() and deadman(), beyond their signatures (run by
check.py).

`level=` names one of ALERT_LEVELS in any case: it is validated here once, and the planner
reads its constant. An alert's threshold and its lower levels (`warn=`, `info=`) are of the
value's kind (a number, a duration or a bool), and lower levels are below the alert's own.
A deadman's threshold is a number of points >= 0 and its interval positive. Both name their
`topic=` by the rule of kapacitor.alerting.names.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from kapacitor.alerting.names import name_problem
from kapacitor.dsl.ast import Call, Expr
from kapacitor.dsl.check_context import CheckContext, ExtraCheck
from kapacitor.dsl.functions import ALERT_LEVELS
from kapacitor.dsl.types import Type

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


def _level(ctx: CheckContext, args: Mapping[str, Expr]) -> str:
    """The lower-case level `level=` names (critical when absent)."""
    node = args.get("level")
    if node is None:
        return "critical"
    given = ctx.constant(node)
    if isinstance(given, str) and given.lower() in ALERT_LEVELS:
        return given.lower()  # any case: the engine upper-cases levels
    close = difflib.get_close_matches(str(given).lower(), ALERT_LEVELS, n=1, cutoff=0.5)
    hint = f': did you mean "{close[0]}"?' if close else ""
    raise ctx.error(
        f"unknown alert level {str(given)!r}{hint} (levels: info, warning, critical)", node.span
    )


def _topic(ctx: CheckContext, args: Mapping[str, Expr]) -> None:
    node = args.get("topic")
    if node is None:
        return
    given = ctx.constant(node)
    assert isinstance(given, str), "topic= is a constant string (its signature)"
    problem = name_problem(given, "topic")
    if problem is not None:
        raise ctx.error(problem, node.span)


def _check_alert(ctx: CheckContext, call: Call, args: Mapping[str, Expr]) -> None:
    value, threshold = args["value"], args["threshold"]
    vt, tt = ctx.type_of(value), ctx.type_of(threshold)
    v_duration = vt == Type.DURATION
    t_duration = tt == Type.DURATION
    if v_duration != t_duration:
        what = "a duration such as 5m" if v_duration else "a number"
        raise ctx.error(
            f"alert() compares its value ({ctx.shown(vt)}) with its threshold "
            f"({ctx.shown(tt)}): the threshold must be {what}",
            threshold.span,
        )
    if (vt == Type.BOOL) != (tt == Type.BOOL):
        what = "true or false" if vt == Type.BOOL else "a number"
        raise ctx.error(
            f"alert() compares its value ({ctx.shown(vt)}) with its threshold "
            f"({ctx.shown(tt)}): the threshold must be {what}",
            threshold.span,
        )
    op = ctx.constant(args["op"])
    if op not in COMPARISONS:  # the parser makes only these; a tree built otherwise may not
        comparisons = " ".join(COMPARISONS)
        raise ctx.error(f"expected a comparison ({comparisons}), got {op}", args["op"].span)
    if vt == Type.BOOL and op not in ("==", "!="):
        raise ctx.error(f"alert() compares bools with == or != only, got {op}", args["op"].span)
    level = _level(ctx, args)
    _topic(ctx, args)
    for name, lower in (("warn", "warning"), ("info", "info")):
        node = args.get(name)
        if node is None:
            continue
        if ALERT_LEVELS.index(lower) >= ALERT_LEVELS.index(level):
            raise ctx.error(
                f"{name}= adds a level below the alert's own, but this alert is {level}: "
                f"drop level= or raise it",
                node.span,
            )
        nt = ctx.type_of(node)
        if (nt == Type.BOOL) != (vt == Type.BOOL) or (nt == Type.DURATION) != v_duration:
            what = "a condition (a bool)" if vt == Type.BOOL else f"a threshold like {threshold}"
            raise ctx.error(f"{name}= of this alert is {what}, got {ctx.shown(nt)}", node.span)


def _check_deadman(ctx: CheckContext, call: Call, args: Mapping[str, Expr]) -> None:
    thr_node, interval_node = args["threshold"], args["interval"]
    threshold = ctx.constant(thr_node)
    assert isinstance(threshold, int | float)
    if not threshold >= 0:
        raise ctx.error(
            f"deadman() threshold is a number of points per interval, >= 0, got {threshold}",
            thr_node.span,
        )
    interval = ctx.constant(interval_node)
    assert isinstance(interval, int)
    if interval <= 0:
        raise ctx.error("deadman() interval must be longer than 0", interval_node.span)
    _level(ctx, args)
    _topic(ctx, args)


EXTRA_CHECKS: dict[str, ExtraCheck] = {
    "alert": _check_alert,
    "deadman": _check_deadman,
}
