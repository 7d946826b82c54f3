"""The stateless scalar functions: planning and vectorised evaluation.

Every call of a stateless function plans to one `FuncOp` (`func` names the operation,
`args` the input columns, `params` constants such as a tag name or a regex). `evaluate` runs
it over whole columns: numbers and truth values are `Scalar`s (float64, truth values 1.0/0.0),
strings are `Text`s (object arrays of str). Numeric code is numpy throughout; string code runs
one Python call per row (there is no vectorised str in numpy worth converting to).

Typed fields: the checker decides what each field is used as (number, string or bool,
`CheckedScript.fields`), and a field read as a string or bool becomes a typed `FieldOp`
(ops.py) that `read_field` reads.

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

import numpy as np

from kapacitor.dsl.ast import Binary, Call, Expr, Ident, Regex, String
from kapacitor.dsl.check import BoundCall
from kapacitor.dsl.functions import REGISTRY
from kapacitor.dsl.functions import Kind as FnKind
from kapacitor.dsl.zones import UTC
from kapacitor.engine import strings
from kapacitor.engine.columns import ObjectArray, Scalar, Text, Value, and_valid
from kapacitor.engine.groups import BoolArray, FloatArray, IntArray
from kapacitor.engine.ops import (
    BOOL,
    NUMBER,
    STRING,
    BinaryOp,
    ConstOp,
    Kind,
    PlanContext,
    Planners,
    TimeOp,
    field_kind,
)
from kapacitor.engine.timezones import local_seconds
from kapacitor.model.batch import FieldType, PointBatch

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


def string_const(ctx: PlanContext, value: str) -> int:
    return ctx.emit(FuncOp("const.str", (), (value,)), Kind.STR)


def _field(ctx: PlanContext, node: Expr) -> str:
    name = ctx.checked.field_name(node)
    assert name is not None, f"the checker takes a field here, not {node}"
    return name


def _pattern(ctx: PlanContext, node: Expr) -> str:
    pattern = ctx.checked.constant(node)
    assert isinstance(pattern, re.Pattern), f"the checker takes a regex here, not {node}"
    return str(pattern.pattern)


def plan_call(ctx: PlanContext, node: Call, call: BoundCall) -> int:
    """Plan a call of one of the stateless functions; returns its column."""
    name, args = call.function.name, call.args
    num, text, truth = Kind.NUM, Kind.STR, Kind.BOOL

    if name == "tag":
        tag = ctx.checked.constant(args["name"])
        assert isinstance(tag, str)
        return ctx.emit(FuncOp("tag", (), (tag,)), text)
    if name == "is_present":
        return ctx.emit(FuncOp("is_present", (), (_field(ctx, args["field"]),)), truth)
    if name == "default":
        field = _field(ctx, args["field"])
        ftype = ctx.field_type(field)
        value = ctx.scalar(args["value"], field_kind(ftype))
        return ctx.emit(FuncOp("default", (value,), (field, ftype)), field_kind(ftype))
    if name == "regex_match":
        s = ctx.scalar(args["s"], text)
        return ctx.emit(FuncOp("str.match", (s,), (_pattern(ctx, args["re"]),)), truth)
    if name in _CONVERSIONS:
        col = ctx.scalar(args["x"], num, truth, text)
        result = {"int": num, "float": num, "string": text, "bool": truth}[name]
        return ctx.emit(FuncOp(f"conv.{name}", (col,), (ctx.kind(col).value,)), result)
    if name in _TIME_PARTS:
        col = ctx.scalar(args["t"], num)
        tz = UTC if "tz" not in args else ctx.checked.constant(args["tz"])
        assert isinstance(tz, str)
        zone = () if tz == UTC else (tz,)
        if ctx.op(col) == TimeOp(now=False):  # exact: from the int64 point times
            return ctx.emit(FuncOp(f"time.{name}", (), ("point", *zone)), num)
        return ctx.emit(FuncOp(f"time.{name}", (col,), ("value", *zone)), num)
    if name in _PREDICATES or name in _TEXT_TO_TEXT or name == "index_of":
        cols = tuple(ctx.scalar(a, text) for a in call.positional())
        kind = truth if name in _PREDICATES else num if name == "index_of" else text
        return ctx.emit(FuncOp(f"str.{name}", cols), kind)
    if name == "length":
        return ctx.emit(FuncOp("str.length", (ctx.scalar(args["s"], text),)), num)
    if name == "substring":
        s = ctx.scalar(args["s"], text)
        bounds = tuple(ctx.scalar(a, num) for a in call.positional()[1:])
        return ctx.emit(FuncOp("str.substring", (s, *bounds)), text)
    if name == "regex_replace":
        s, repl = ctx.scalar(args["s"], text), ctx.scalar(args["replacement"], text)
        pattern = _pattern(ctx, args["re"])
        return ctx.emit(FuncOp("str.regex_replace", (s, repl), (pattern,)), text)
    if name == "human_bytes":
        return ctx.emit(FuncOp("str.human_bytes", (ctx.scalar(args["n"], num),)), text)
    if name == "unix_nano":
        return ctx.scalar(args["t"], num)  # times compute as float64 nanoseconds already
    if name == "duration":
        return _plan_duration(ctx, call)
    if name == "if":
        return _plan_if(ctx, call)
    # math: pow, min, max, log...
    cols = tuple(ctx.scalar(a, num) for a in call.positional())
    return ctx.emit(FuncOp(f"math.{name}", cols), num)


def _plan_duration(ctx: PlanContext, call: BoundCall) -> int:
    """`duration(x, unit)` is `x * unit` in nanoseconds."""
    x = ctx.scalar(call.args["x"], Kind.NUM)
    unit = _NS if "unit" not in call.args else ctx.checked.constant(call.args["unit"])
    assert isinstance(unit, int) and unit > 0
    return ctx.emit(BinaryOp("*", x, ctx.emit(ConstOp(float(unit)), Kind.NUM)), Kind.NUM)


def _plan_if(ctx: PlanContext, call: BoundCall) -> int:
    cond = ctx.scalar(call.args["cond"], Kind.BOOL)
    then = ctx.expr(call.args["then"])
    other = ctx.expr(call.args["else"])
    kind = ctx.kind(then)
    assert kind is not Kind.VEC and ctx.kind(other) is kind, "the checker typed both alike"
    return ctx.emit(FuncOp("if", (cond, then, other)), kind)


def plan_binary(ctx: PlanContext, node: Binary) -> int | None:
    """`=~`/`!~`, and `==`... or `+` when a side is a string; None: not a string operation."""
    op = node.op
    if op in ("=~", "!~"):
        s = ctx.scalar(node.left, Kind.STR)
        func = "str.match" if op == "=~" else "str.nomatch"
        return ctx.emit(FuncOp(func, (s,), (_pattern(ctx, node.right),)), Kind.BOOL)
    if op != "+" and op not in _ORDER:
        return None
    left, right = ctx.expr(node.left), ctx.expr(node.right)
    lk, rk = ctx.kind(left), ctx.kind(right)
    if Kind.STR not in (lk, rk):
        return None
    assert lk is rk, "the checker adds and compares strings with strings only"
    if op == "+":
        return ctx.emit(FuncOp("str.concat", (left, right)), Kind.STR)
    return ctx.emit(FuncOp("str.cmp", (left, right), (op,)), Kind.BOOL)


# The stateless functions: each plans to one FuncOp (min and max of numbers, not the
# aggregates of the same names).
PLANNERS: Planners = {
    fn: plan_call for fn in REGISTRY if fn.name in NAMES and fn.kind is not FnKind.AGGREGATE
}


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
