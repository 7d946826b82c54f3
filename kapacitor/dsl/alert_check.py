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
from collections.abc import Mapping, Sequence

from kapacitor.alerting.flapping import MAX_HISTORY, MIN_HISTORY
from kapacitor.alerting.names import name_problem
from kapacitor.alerting.templates import PER_EVENT_FIELDS, template_fields
from kapacitor.dsl.ast import Call, Expr, List, Node
from kapacitor.dsl.check_context import CheckContext, ExtraCheck
from kapacitor.dsl.functions import ALERT_LEVELS
from kapacitor.dsl.types import Type

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
RESETS = (("reset", None), ("warn_reset", "warn"), ("info_reset", "info"))


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


def _name(ctx: CheckContext, args: Mapping[str, Expr], arg: str, what: str = "") -> None:
    """`arg=` names a `what` (a topic, a category) by the naming rule."""
    node = args.get(arg)
    if node is None:
        return
    given = ctx.constant(node)
    assert isinstance(given, str), f"{arg}= is a constant string (its signature)"
    problem = name_problem(given, what or arg)
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
    _name(ctx, args, "topic")
    _name(ctx, args, "category")
    _inhibit(ctx, args)
    _notify(ctx, args)
    _templates(ctx, args)
    _notifying(ctx, args)
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
    for name, needs in (("warn", None), ("info", None), *RESETS):
        node = args.get(name)
        if node is None:
            continue
        if needs is not None and needs not in args:
            raise ctx.error(
                f"{name}= resets the level {needs}= adds, but there is no {needs}=", node.span
            )
        nt = ctx.type_of(node)
        if (nt == Type.BOOL) != (vt == Type.BOOL) or (nt == Type.DURATION) != v_duration:
            what = "a condition (a bool)" if vt == Type.BOOL else f"a threshold like {threshold}"
            raise ctx.error(f"{name}= of this alert is {what}, got {ctx.shown(nt)}", node.span)


def _inhibit(ctx: CheckContext, args: Mapping[str, Expr]) -> None:
    _name(ctx, args, "inhibit", "category")
    node = args.get("inhibit_tags")
    if node is None:
        return
    if "inhibit" not in args:
        raise ctx.error("inhibit_tags= names the tags of an inhibit=, but there is none", node.span)
    given = ctx.constant(node)
    assert isinstance(given, str)
    if any(not t.strip() for t in given.split(",")):
        raise ctx.error(
            f'inhibit_tags= is tag keys separated by commas ("host,dc"), got {given!r}', node.span
        )


def _templates(ctx: CheckContext, args: Mapping[str, Expr]) -> None:
    """message=, id= and details= given as literals are templates that must read as such;
    an id names what stays the same from one event of the alert to the next."""
    for name in ("message", "id", "details"):
        node = args.get(name)
        if node is None:
            continue
        text = ctx.constant(node)
        if not isinstance(text, str):
            continue  # a message computed per point: checked as it is computed
        try:
            fields = template_fields(text)
        except ValueError as e:
            raise ctx.error(
                f"{name}= is not a valid template: {e} (write {{{{ for a {{)", node.span
            ) from None
        changing = sorted(fields & PER_EVENT_FIELDS)
        if name == "id" and changing:
            raise ctx.error(
                f"id= names the alert across its events, but {{{changing[0]}}} changes from one "
                "event to the next: use it in message= or details=",
                node.span,
            )


def _notifying(ctx: CheckContext, args: Mapping[str, Expr]) -> None:
    node = args.get("state_changes_only")
    if node is not None:
        given = ctx.constant(node)
        if not isinstance(given, bool) and isinstance(given, int) and given <= 0:
            raise ctx.error(
                "state_changes_only= as a re-notify interval must be longer than 0", node.span
            )
    low, high = args.get("flapping_low"), args.get("flapping_high")
    if (low is None) != (high is None):
        present = low if low is not None else high
        assert present is not None
        raise ctx.error(
            "flapping detection needs both flapping_low= and flapping_high=", present.span
        )
    history = args.get("history")
    if low is None or high is None:
        if history is not None:
            raise ctx.error(
                "history= is the length flapping detection weighs: "
                "give flapping_low= and flapping_high= too",
                history.span,
            )
        return
    lo, hi = ctx.constant(low), ctx.constant(high)
    assert isinstance(lo, int | float) and isinstance(hi, int | float)
    if not 0 <= lo < hi <= 1:
        raise ctx.error(
            "flapping thresholds are shares of changes, 0 <= flapping_low < flapping_high "
            f"<= 1, got {lo} and {hi}",
            low.span,
        )
    if history is not None:
        n = ctx.constant(history)
        assert isinstance(n, int)
        if not MIN_HISTORY <= n <= MAX_HISTORY:
            raise ctx.error(
                f"history= is {MIN_HISTORY} to {MAX_HISTORY} evaluations, got {n}", history.span
            )


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
    _name(ctx, args, "topic")
    _name(ctx, args, "category")
    _templates(ctx, args)
    _inhibit(ctx, args)
    _notify(ctx, args)


def _notify(ctx: CheckContext, args: Mapping[str, Expr]) -> None:
    """`notify=` names handler()s: one, or a non-empty list of them."""
    node = args.get("notify")
    if node is None or ctx.type_of(node) == Type.HANDLER:
        return
    items = node.items if isinstance(node, List) else ()
    if not items:
        raise ctx.error("notify= takes a handler() or a list of them, got an empty list", node.span)
    for item in items:
        if ctx.type_of(item) != Type.HANDLER:
            raise ctx.error(
                f"notify= takes handler()s, got {ctx.shown(ctx.type_of(item))}: "
                f'write notify=[handler("slack", channel="#ops")]',
                item.span,
            )


def _check_handler(ctx: CheckContext, call: Call, args: Mapping[str, Expr]) -> None:
    """A handler()'s kind, match and options are checked as a topic handler file's are; the
    error points at the argument it is about."""
    # late: the kinds import the engine, which imports the checker
    from kapacitor.alerting.script_handlers import HANDLER_ARGS, handler_problem

    message = handler_problem(ctx, dict(args))
    if message is None:
        return
    at: Node = call
    for kw in call.kwargs:
        if kw.name not in HANDLER_ARGS and _names_option(message, kw.name):
            at = kw
    if message.startswith("unknown kind"):
        at = args["kind"]
    elif message.startswith("match"):
        at = args["match"]
    raise ctx.error(f"handler(): {message}", at.span)


def _names_option(message: str, name: str) -> bool:
    spellings = (name, name.replace("_", "-"))
    quoted = ("`options.{}`", "'{}'", " {} ")
    return any(q.format(n) in message for q in quoted for n in spellings)


def check_alert_topics(
    ctx: CheckContext, alerts: Sequence[tuple[Call, Mapping[str, Expr]]]
) -> None:
    """Across the alert statements: handlers of one with `topic=` read the plugin's events of
    that topic, so no other of them may send there too."""
    first: dict[str, Call] = {}
    notified: dict[str, Call] = {}
    for call, args in alerts:
        node = args.get("topic")
        topic = ctx.constant(node) if node is not None else None
        if not isinstance(topic, str):
            continue
        other = first.setdefault(topic, call)
        if "notify" in args:
            notified.setdefault(topic, call)
        if other is not call and topic in notified:
            with_notify = notified[topic]
            at = call if with_notify is other else with_notify
            raise ctx.error(
                f'two alerts of this script send to topic "{topic}" and one has notify=: its '
                "handlers would get both's events; give it a topic of its own (or none)",
                at.span,
            )


EXTRA_CHECKS: dict[str, ExtraCheck] = {
    "alert": _check_alert,
    "deadman": _check_deadman,
    "handler": _check_handler,
}
