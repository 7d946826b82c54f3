"""Checks of the stateless scalar functions beyond their signatures (run by check.py).

`is_present(f)` and `default(f, v)` take a *field* (a bare name or `field("...")`), not an
expression. `is_present` leaves the field's type to the rest of the script; `default` decides
it from its value (`default(errors, 0)`: a number, `default(status, "ok")`: a string). The
time-of-point functions take a known IANA time zone.
"""

from __future__ import annotations

from collections.abc import Mapping

from kapacitor.dsl.ast import Call, Expr
from kapacitor.dsl.check_context import CheckContext, ExtraCheck
from kapacitor.dsl.types import NUMERIC, Type
from kapacitor.dsl.zones import unknown_zone


def _field_argument(ctx: CheckContext, call: Call, args: Mapping[str, Expr]) -> str:
    node = args["field"]
    name = ctx.field_name(node)
    if name is None:
        raise ctx.error(
            f"{call.name}() takes a field name, e.g. {call.name}(value) or "
            f'{call.name}(field("disk used %")), got {node}',
            node.span,
        )
    return name


def _check_is_present(ctx: CheckContext, call: Call, args: Mapping[str, Expr]) -> None:
    _field_argument(ctx, call, args)


def _check_default(ctx: CheckContext, call: Call, args: Mapping[str, Expr]) -> None:
    name = _field_argument(ctx, call, args)
    field_t, value = ctx.type_of(args["field"]), args["value"]
    value_t = ctx.type_of(value)
    if not isinstance(value_t, Type):  # default(x, y): y is what x is, a number by default
        decided = ctx.decided(name)
        family = ctx.same_family(decided) if decided is not None else NUMERIC
        value_t = ctx.coerce(value_t, family, value.span) or Type.NUMBER
    if ctx.coerce(field_t, ctx.same_family(value_t), value.span) is None:
        raise ctx.error(
            f"default() gives {ctx.shown(field_t)} field a default of "
            f"{ctx.shown(value_t)}: the value must be of the field's type",
            value.span,
        )


def _check_time_zone(ctx: CheckContext, call: Call, args: Mapping[str, Expr]) -> None:
    node = args.get("tz")
    if node is None:
        return
    name = ctx.constant(node)
    assert isinstance(name, str)
    message = unknown_zone(name)
    if message is not None:
        raise ctx.error(message, node.span)


def _check_duration(ctx: CheckContext, call: Call, args: Mapping[str, Expr]) -> None:
    node = args.get("unit")
    unit = None if node is None else ctx.constant(node)
    if node is not None and isinstance(unit, int) and unit <= 0:
        raise ctx.error(f"duration(): 'unit' must be a duration > 0, got {node}", node.span)


EXTRA_CHECKS: dict[str, ExtraCheck] = {
    "is_present": _check_is_present,
    "default": _check_default,
    "duration": _check_duration,
    **{name: _check_time_zone for name in ("hour", "minute", "weekday", "day", "month", "year")},
}
