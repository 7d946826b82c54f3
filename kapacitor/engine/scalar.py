"""The stateless scalar functions: planning and vectorised evaluation.

Every call of a stateless function plans to one `FuncOp` (`func` names the operation,
`args` the input columns, `params` constants such as a tag name or a regex). `evaluate` runs
it over whole columns: numbers and truth values are `Scalar`s (float64, truth values 1.0/0.0),
strings are `Text`s (object arrays of str). Numeric code is numpy throughout; string code runs
one Python call per row (there is no vectorised str in numpy worth converting to).

Typed fields: the checker decides what each field is used as (number, string or bool);
`field_types(script)` asks it, and a field read as a string or bool becomes a typed
`FieldOp` (see plan.py) that `read_field` reads.

Value rules (docs/engine.md): a numeric function whose result is not a finite number (log of
0, pow overflow, sin of infinity, NaN input) gives no value on that row; min and max give no
value when an argument is NaN; conversions give no value when the input cannot be converted.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from kapacitor.dsl.ast import Call, Expr, Ident, Regex, Script, String
from kapacitor.dsl.functions import Kind as FnKind
from kapacitor.dsl.functions import lookup
from kapacitor.dsl.types import Type
from kapacitor.dsl.zones import UTC, unknown_zone
from kapacitor.engine import strings
from kapacitor.engine.columns import ObjectArray, Scalar, Text, Value, and_valid
from kapacitor.engine.groups import BoolArray, FloatArray, IntArray
from kapacitor.engine.timezones import local_seconds
from kapacitor.errors import DslError, DslTypeError
from kapacitor.model.batch import FieldType, PointBatch

if TYPE_CHECKING:
    from kapacitor.engine.plan import Kind, _Planner

NUMBER, STRING, BOOL = "number", "string", "bool"
_NUMERIC = (FieldType.FLOAT, FieldType.INT, FieldType.UINT)

_MATH1 = (
    *("log", "log2", "log10", "log1p", "exp", "exp2", "expm1"),
    *("sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh"),
    *("trunc", "cbrt"),
)
_MATH2 = ("pow", "atan2", "hypot", "mod")
_CONVERSIONS = ("int", "float", "string", "bool")
_PREDICATES = ("contains", "has_prefix", "has_suffix")
# String functions of string arguments giving a string, and the string functions' results.
_TEXT_TO_TEXT = ("replace", "lower", "upper", "trim", "trim_prefix", "trim_suffix")
_TIME_PARTS = ("hour", "minute", "weekday", "day", "month", "year")
NAMES = frozenset(
    (
        *_MATH1,
        *_MATH2,
        *_CONVERSIONS,
        *_PREDICATES,
        *_TEXT_TO_TEXT,
        *_TIME_PARTS,
        "min",
        "max",
        "regex_match",
        "regex_replace",
        "substring",
        "index_of",
        "length",
        "human_bytes",
        "unix_nano",
        "duration",
        "if",
        "is_present",
        "default",
        "tag",
    )
)
_ORDER = ("==", "!=", "<", "<=", ">", ">=")


@dataclass(frozen=True, slots=True)
class FuncOp:
    """`func` of the columns `args` with the constants `params`, e.g. `str.contains %0 %1`."""

    func: str
    args: tuple[int, ...] = ()
    params: tuple[str, ...] = ()

    def inputs(self) -> tuple[int, ...]:
        return self.args

    def remap(self, f: Callable[[int], int]) -> FuncOp:
        return dataclasses.replace(self, args=tuple(f(a) for a in self.args))

    def describe(self) -> str:
        if self.func == "const.str":
            return "const " + str(String(self.params[0]))
        shown: list[Expr] = [Ident(p) for p in self.params]  # an operator, a tag, a kind...
        if self.func in ("str.match", "str.nomatch", "str.regex_replace"):
            shown = [Regex(p) for p in self.params]
        return " ".join([self.func, *(f"%{a}" for a in self.args), *map(str, shown)])


# --- planning --------------------------------------------------------------------------------


def field_types(script: Script) -> dict[str, str]:
    """What the checker decides each field is used as: "string" or "bool" (else a number).

    A script the checker rejects (scripts built by hand in tests) reads every field as a number.
    """
    from kapacitor.dsl.check import check

    try:
        checked = check(script, "", require_alert=False)
    except DslError:
        return {}
    names = {Type.STRING: STRING, Type.BOOL: BOOL}
    return {name: names[t] for name, t in checked.fields.items() if t in names}


def kind_of(ftype: str) -> Kind:
    from kapacitor.engine.plan import Kind

    return {NUMBER: Kind.NUM, STRING: Kind.STR, BOOL: Kind.BOOL}[ftype]


def field_column(planner: _Planner, name: str) -> int:
    """The column of field `name`, read as what the script uses it as."""
    from kapacitor.engine.plan import FieldOp

    ftype = planner.field_types.get(name, NUMBER)
    return planner.emit(FieldOp(name, ftype), kind_of(ftype))


def string_const(planner: _Planner, value: str) -> int:
    from kapacitor.engine.plan import Kind

    return planner.emit(FuncOp("const.str", (), (value,)), Kind.STR)


def handles(node: Call) -> bool:
    """Whether a call is one of the stateless functions (min/max only with 2+ arguments)."""
    fn = lookup(node.name, len(node.args))
    return fn is not None and fn.name in NAMES and fn.kind is not FnKind.AGGREGATE


def _err(node: Expr, message: str) -> DslTypeError:
    return DslTypeError(message, node.span)


def _field_name(planner: _Planner, call: Call, node: Expr) -> str:
    if isinstance(node, Ident) and node.name not in planner.lets:
        return node.name
    if isinstance(node, Call) and node.name == "field" and node.args:
        arg = node.args[0]
        if isinstance(arg, String):
            return arg.value
    raise _err(node, f"{call.name}() takes a field name, e.g. {call.name}(value), got {node}")


def _regex(node: Expr, what: str) -> str:
    if not isinstance(node, Regex):
        raise _err(node, f"{what} must be a regex literal such as /^web/, got {node}")
    try:
        re.compile(node.pattern)
    except re.error as e:
        raise _err(node, f"bad regex: {e}") from e
    return node.pattern


def plan_call(planner: _Planner, node: Call) -> int:
    """Plan a call that `handles` accepted; returns its column."""
    from kapacitor.engine.plan import Kind, TimeOp

    fn = lookup(node.name, len(node.args))
    assert fn is not None
    name, args = fn.name, node.args
    tz = UTC
    for kw in node.kwargs:
        if name not in _TIME_PARTS or kw.name != "tz" or not isinstance(kw.value, String):
            raise DslTypeError(f"{node.name}() has no option {kw.name}= here", kw.span)
        if unknown_zone(kw.value.value) is not None:
            raise _err(kw.value, f"unknown time zone {kw.value}")
        tz = kw.value.value
    least = sum(1 for p in fn.positional if p.required)
    if len(args) < least or (len(args) > len(fn.positional) and not fn.variadic):
        raise _err(node, f"{node.name}() takes {len(fn.positional)} argument(s): {fn.signature()}")
    num, text, truth = Kind.NUM, Kind.STR, Kind.BOOL

    def emit(op: FuncOp, kind: Kind) -> int:
        return planner.emit(op, kind)

    if name == "tag":
        tag = args[0]
        if not isinstance(tag, String):
            raise _err(tag, 'tag() needs a string constant: tag("host")')
        return emit(FuncOp("tag", (), (tag.value,)), text)
    if name == "is_present":
        return emit(FuncOp("is_present", (), (_field_name(planner, node, args[0]),)), truth)
    if name == "default":
        field = _field_name(planner, node, args[0])
        ftype = planner.field_types.get(field, NUMBER)
        value = planner.scalar(args[1], kind_of(ftype))
        return emit(FuncOp("default", (value,), (field, ftype)), kind_of(ftype))
    if name == "regex_match":
        s = planner.scalar(args[0], text)
        return emit(FuncOp("str.match", (s,), (_regex(args[1], "regex_match()'s re"),)), truth)
    if name in _CONVERSIONS:
        col = planner.scalar(args[0], num, truth, text)
        result = {"int": num, "float": num, "string": text, "bool": truth}[name]
        return emit(FuncOp(f"conv.{name}", (col,), (planner.kind(col).value,)), result)
    if name in _TIME_PARTS:
        col = planner.scalar(args[0], num)
        zone = () if tz == UTC else (tz,)
        if planner.ops[col] == TimeOp(now=False):  # exact: from the int64 point times
            return emit(FuncOp(f"time.{name}", (), ("point", *zone)), num)
        return emit(FuncOp(f"time.{name}", (col,), ("value", *zone)), num)
    if name in _PREDICATES or name in _TEXT_TO_TEXT or name == "index_of":
        cols = tuple(planner.scalar(a, text) for a in args)
        kind = truth if name in _PREDICATES else num if name == "index_of" else text
        return emit(FuncOp(f"str.{name}", cols), kind)
    if name == "length":
        return emit(FuncOp("str.length", (planner.scalar(args[0], text),)), num)
    if name == "substring":
        s = planner.scalar(args[0], text)
        bounds = tuple(planner.scalar(a, num) for a in args[1:])
        return emit(FuncOp("str.substring", (s, *bounds)), text)
    if name == "regex_replace":
        s, repl = planner.scalar(args[0], text), planner.scalar(args[2], text)
        pattern = _regex(args[1], "regex_replace()'s re")
        return emit(FuncOp("str.regex_replace", (s, repl), (pattern,)), text)
    if name == "human_bytes":
        return emit(FuncOp("str.human_bytes", (planner.scalar(args[0], num),)), text)
    if name == "unix_nano":
        return planner.scalar(args[0], num)  # times compute as float64 nanoseconds already
    if name == "duration":
        return _plan_duration(planner, node)
    if name == "if":
        return _plan_if(planner, node)
    # math: pow, min, max, log...
    cols = tuple(planner.scalar(a, num) for a in args)
    return emit(FuncOp(f"math.{name}", cols), num)


def _plan_duration(planner: _Planner, node: Call) -> int:
    """`duration(x, unit)` is `x * unit` in nanoseconds."""
    from kapacitor.dsl.ast import Duration
    from kapacitor.engine.plan import BinaryOp, ConstOp, Kind

    x = planner.scalar(node.args[0], Kind.NUM)
    unit = node.args[1] if len(node.args) > 1 else Duration(_NS, "1s")
    if not isinstance(unit, Duration) or unit.ns <= 0:
        raise _err(unit, f"duration()'s unit must be a duration > 0, got {unit}")
    return planner.emit(BinaryOp("*", x, planner.emit(ConstOp(float(unit.ns)), Kind.NUM)), Kind.NUM)


def _plan_if(planner: _Planner, node: Call) -> int:
    from kapacitor.engine.plan import Kind

    if len(node.args) != 3:
        raise _err(node, "if() takes 3 arguments: if(condition, then, else)")
    cond = planner.scalar(node.args[0], Kind.BOOL)
    then = planner.expr(node.args[1])
    other = planner.expr(node.args[2])
    kind = planner.kind(then)
    if kind is Kind.VEC or planner.kind(other) is not kind:
        raise _err(
            node,
            f"if() needs two values of one kind, got {kind.value} and {planner.kind(other).value}",
        )
    return planner.emit(FuncOp("if", (cond, then, other)), kind)


def plan_binary(planner: _Planner, node: Expr) -> int | None:
    """`=~`/`!~`, and `==`... or `+` when a side is a string; None: not a string operation."""
    from kapacitor.dsl.ast import Binary
    from kapacitor.engine.plan import Kind

    assert isinstance(node, Binary)
    op = node.op
    if op in ("=~", "!~"):
        s = planner.scalar(node.left, Kind.STR)
        pattern = _regex(node.right, f"the right side of {op}")
        func = "str.match" if op == "=~" else "str.nomatch"
        return planner.emit(FuncOp(func, (s,), (pattern,)), Kind.BOOL)
    if op != "+" and op not in _ORDER:
        return None
    left, right = planner.expr(node.left), planner.expr(node.right)
    lk, rk = planner.kind(left), planner.kind(right)
    if Kind.STR not in (lk, rk):
        return None
    if lk is not rk:
        verb = "add" if op == "+" else "compare"
        raise _err(node, f"cannot {verb} a {lk.value} and a {rk.value}: {node}")
    if op == "+":
        return planner.emit(FuncOp("str.concat", (left, right)), Kind.STR)
    return planner.emit(FuncOp("str.cmp", (left, right), (op,)), Kind.BOOL)


# --- evaluation ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowContext:
    """What functions reading the point need: the batch and which rows are working rows."""

    batch: PointBatch
    order: IntArray  # batch row of each working row
    bidx: IntArray  # instance (index into `tags`) of each batch row
    times: IntArray  # time of each working row
    tags: list[dict[str, str]]


def read_field(batch: PointBatch, name: str, ftype: str, order: IntArray) -> Scalar | Text:
    """Field `name` over the working rows as `ftype`; no value where missing or of another type."""
    m = int(order.shape[0])
    col = batch.fields.get(name)
    wanted = {NUMBER: _NUMERIC, STRING: (FieldType.STRING,), BOOL: (FieldType.BOOL,)}[ftype]
    if col is None or col.type not in wanted:
        if ftype == STRING:
            return Text(strings.empty(m), np.zeros(m, np.bool_))
        return Scalar(np.zeros(m, np.float64), np.zeros(m, np.bool_))
    present = None if col.present is None else col.present[order]
    if ftype != STRING:
        return Scalar(col.values[order].astype(np.float64), present)
    values: ObjectArray = col.values[order]
    if present is not None:
        values[~present] = ""
    return Text(values, present)


def _num(v: Value | None) -> Scalar:
    assert isinstance(v, Scalar), "planner guarantees a number here"
    return v


def _text(v: Value | None) -> Text:
    assert isinstance(v, Text), "planner guarantees a string here"
    return v


def _masked(out: FloatArray, ok: BoolArray, valid: BoolArray | None) -> Scalar:
    """`out` where `ok` (and valid), no value (and 0.0) elsewhere."""
    if ok.all():
        return Scalar(out, valid)
    return Scalar(np.where(ok, out, 0.0), ok if valid is None else valid & ok)


def _finite(out: FloatArray, valid: BoolArray | None) -> Scalar:
    return _masked(out, np.isfinite(out), valid)


_UFUNCS: dict[str, Callable[[FloatArray], FloatArray]] = {
    "log": np.log,
    "log2": np.log2,
    "log10": np.log10,
    "exp": np.exp,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "trunc": np.trunc,
    "cbrt": np.cbrt,
    "log1p": np.log1p,
    "expm1": np.expm1,
    "exp2": np.exp2,
}
# fmod is NaN for y = 0 (no value), like `%`; hypot does not overflow on x*x.
_UFUNCS2: dict[str, Callable[[FloatArray, FloatArray], FloatArray]] = {
    "pow": np.power,
    "atan2": np.arctan2,
    "hypot": np.hypot,
    "mod": np.fmod,
}


def _math(op: FuncOp, args: list[Value | None]) -> Scalar:
    name = op.func.removeprefix("math.")
    nums = [_num(a) for a in args]
    valid = functools.reduce(and_valid, (a.valid for a in nums), None)
    with np.errstate(all="ignore"):
        if name in _UFUNCS:
            return _finite(_UFUNCS[name](nums[0].values), valid)
        if name in _UFUNCS2:
            return _finite(_UFUNCS2[name](nums[0].values, nums[1].values), valid)
        reduce = np.minimum if name == "min" else np.maximum
        out = functools.reduce(reduce, (a.values for a in nums))
        return _masked(out, ~np.isnan(out), valid)


_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
_I64 = 2.0**63


def parse_int(s: str) -> float | None:
    """A decimal int64 as float, or None."""
    if _INT.fullmatch(s) is None:
        return None
    v = int(s)
    return float(v) if -(2**63) <= v < 2**63 else None


def parse_float(s: str) -> float | None:
    """A finite decimal number, or None."""
    if _FLOAT.fullmatch(s) is None:
        return None
    v = float(s)
    return v if math.isfinite(v) else None


def parse_bool(s: str) -> float | None:
    return 1.0 if s in _TRUE else 0.0 if s in _FALSE else None


def format_number(v: float) -> str:
    """A number as text: 30 (not 30.0), 27.5, 1e+21, NaN, +Inf, -Inf."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v.is_integer() and abs(v) < 1e21:
        return str(int(v))
    return repr(v)


def _parsed(
    values: ObjectArray, parse: Callable[[str], float | None], valid: BoolArray | None
) -> Scalar:
    m = int(values.shape[0])
    parsed = [parse(s) for s in values.tolist()]
    ok = np.fromiter((p is not None for p in parsed), np.bool_, count=m)
    out = np.fromiter((0.0 if p is None else p for p in parsed), np.float64, count=m)
    return _masked(out, ok, valid)


def _convert(op: FuncOp, args: list[Value | None]) -> Value:
    to, source = op.func.removeprefix("conv."), op.params[0]
    if source == STRING:
        text = _text(args[0])
        if to == STRING:
            return text
        parse = {"int": parse_int, "float": parse_float, "bool": parse_bool}[to]
        return _parsed(text.values, parse, text.valid)
    a = _num(args[0])
    x = a.values
    if to == "float":
        return a
    if to == "bool":
        return a if source == BOOL else Scalar((x != 0).astype(np.float64), a.valid)
    if to == "int":
        t = np.trunc(x)
        return _masked(t, (t >= -_I64) & (t < _I64), a.valid)
    if source == BOOL:
        return Text(np.where(x != 0, "true", "false").astype(object), a.valid)
    return Text(strings.objects([format_number(v) for v in x.tolist()]), a.valid)


_NS = 1_000_000_000


def _time_part(op: FuncOp, args: list[Value | None], ctx: RowContext) -> Scalar:
    part = op.func.removeprefix("time.")
    valid: BoolArray | None = None
    if op.params[0] == "point":
        secs = ctx.times // _NS
    else:
        a = _num(args[0])
        ok = np.abs(a.values) < 9.2e18  # inside int64 nanoseconds; False for NaN
        valid = ok if a.valid is None else a.valid & ok
        secs = np.floor_divide(np.where(ok, a.values, 0.0), float(_NS)).astype(np.int64)
    if len(op.params) > 1:
        secs = local_seconds(secs, op.params[1])
    if part == "hour":
        out = secs // 3600 % 24
    elif part == "minute":
        out = secs // 60 % 60
    elif part == "weekday":
        out = (secs // 86400 + 4) % 7  # 1970-01-01 was a Thursday; 0 is Sunday
    else:
        days = (secs // 86400).astype("datetime64[D]")
        months = days.astype("datetime64[M]")
        if part == "day":
            out = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
        elif part == "month":
            out = months.astype(np.int64) % 12 + 1
        else:
            out = days.astype("datetime64[Y]").astype(np.int64) + 1970
    return Scalar(out.astype(np.float64), valid)


def _default(op: FuncOp, args: list[Value | None], ctx: RowContext) -> Value:
    name, ftype = op.params
    field = read_field(ctx.batch, name, ftype, ctx.order)
    fallback = args[0]
    assert isinstance(fallback, Scalar | Text)
    if field.valid is None:
        return field
    has = field.valid
    valid = None if fallback.valid is None else has | fallback.valid
    if isinstance(field, Text):
        return Text(np.where(has, field.values, _text(fallback).values), valid)
    return Scalar(np.where(has, field.values, _num(fallback).values), valid)


def _tag(op: FuncOp, ctx: RowContext) -> Text:
    per_instance = strings.objects([t.get(op.params[0], "") for t in ctx.tags])
    return Text(per_instance[ctx.bidx[ctx.order]])


def _is_present(op: FuncOp, ctx: RowContext) -> Scalar:
    col = ctx.batch.fields.get(op.params[0])
    m = int(ctx.order.shape[0])
    if col is None:
        return Scalar(np.zeros(m, np.float64))
    if col.present is None:
        return Scalar(np.ones(m, np.float64))
    return Scalar(col.present[ctx.order].astype(np.float64))


def _if(args: list[Value | None]) -> Value:
    """The chosen branch per row: the other branch's missing value does not matter."""
    cond, then, other = _num(args[0]), args[1], args[2]
    assert isinstance(then, Scalar | Text) and isinstance(other, Scalar | Text)
    pick = cond.values != 0
    m = pick.shape[0]
    ok_then = np.ones(m, np.bool_) if then.valid is None else then.valid
    ok_other = np.ones(m, np.bool_) if other.valid is None else other.valid
    valid = np.where(pick, ok_then, ok_other)
    if cond.valid is not None:
        valid &= cond.valid
    values = np.where(pick, then.values, other.values)
    if isinstance(then, Text):
        return Text(strings.objects(values.tolist()), None if valid.all() else valid)
    return Scalar(values.astype(np.float64), None if valid.all() else valid)


def evaluate(op: FuncOp, args: list[Value | None], ctx: RowContext) -> Value:
    """Run one stateless function over the working rows."""
    func = op.func
    if func.startswith("math."):
        return _math(op, args)
    if func.startswith("conv."):
        return _convert(op, args)
    if func.startswith("time."):
        return _time_part(op, args, ctx)
    if func == "str.human_bytes":
        return strings.human_bytes(_num(args[0]))
    if func == "str.substring":
        return strings.substring(_text(args[0]), [_num(a) for a in args[1:]])
    if func.startswith("str."):
        return strings.evaluate(func, op.params, [_text(a) for a in args])
    if func == "const.str":
        return Text(strings.objects([op.params[0]] * int(ctx.order.shape[0])))
    if func == "tag":
        return _tag(op, ctx)
    if func == "is_present":
        return _is_present(op, ctx)
    if func == "if":
        return _if(args)
    assert func == "default", func
    return _default(op, args, ctx)


# For tests and docs: the functions each planned `func` prefix implements.
FAMILIES: Mapping[str, tuple[str, ...]] = {
    "math": ("min", "max", *_MATH1, *_MATH2),
    "conv": _CONVERSIONS,
    "time": _TIME_PARTS,
    "str": (
        *_PREDICATES,
        *_TEXT_TO_TEXT,
        "regex_match",
        "regex_replace",
        "length",
        "substring",
        "index_of",
        "human_bytes",
    ),
}
