"""Checks of the stateless scalar functions beyond their signatures (used by check.py).

`is_present(f)` and `default(f, v)` take a *field* (a bare name or `field("...")`), not an
expression. `is_present` leaves the field's type to the rest of the script; `default` decides
it from its value (`default(errors, 0)`: a number, `default(status, "ok")`: a string). The
time-of-point functions take a known IANA time zone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from kapacitor.dsl.ast import Call, Expr
from kapacitor.dsl.types import NUMERIC, Type
from kapacitor.dsl.zones import unknown_zone

if TYPE_CHECKING:
    from kapacitor.dsl.check import _Checker


def _field_argument(checker: _Checker, call: Call, args: dict[str, Expr]) -> str:
    node = args["field"]
    name = checker.field_refs.get(id(node))
    if name is None:
        raise checker.error(
            f"{call.name}() takes a field name, e.g. {call.name}(value) or "
            f'{call.name}(field("disk used %")), got {node}',
            node.span,
        )
    return name


def _check_is_present(checker: _Checker, call: Call, args: dict[str, Expr]) -> None:
    _field_argument(checker, call, args)


def _check_default(checker: _Checker, call: Call, args: dict[str, Expr]) -> None:
    name = _field_argument(checker, call, args)
    field_t, value = checker.types[id(args["field"])], args["value"]
    value_t = checker.types[id(value)]
    if not isinstance(value_t, Type):  # default(x, y): y is what x is, a number by default
        decided = checker.field_types.get(name)
        family = checker.same_family(decided[0]) if decided else NUMERIC
        value_t = checker.coerce(value_t, family, value.span) or Type.NUMBER
    if checker.coerce(field_t, checker.same_family(value_t), value.span) is None:
        raise checker.error(
            f"default() gives {checker.shown(field_t)} field a default of "
            f"{checker.shown(value_t)}: the value must be of the field's type",
            value.span,
        )


def _check_time_zone(checker: _Checker, call: Call, args: dict[str, Expr]) -> None:
    node = args.get("tz")
    if node is None:
        return
    name = checker.constants[id(node)]
    assert isinstance(name, str)
    message = unknown_zone(name)
    if message is not None:
        raise checker.error(message, node.span)


def _check_duration(checker: _Checker, call: Call, args: dict[str, Expr]) -> None:
    node = args.get("unit")
    unit = None if node is None else checker.constants.get(id(node))
    if node is not None and isinstance(unit, int) and unit <= 0:
        raise checker.error(f"duration(): 'unit' must be a duration > 0, got {node}", node.span)


EXTRA_CHECKS: dict[str, Callable[[_Checker, Call, dict[str, Expr]], None]] = {
    "is_present": _check_is_present,
    "default": _check_default,
    "duration": _check_duration,
    **{name: _check_time_zone for name in ("hour", "minute", "weekday", "day", "month", "year")},
}
