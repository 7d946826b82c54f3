"""The stateless functions (kapacitor/engine/scalar.py, strings.py) against a per-point reference.

Every case is a script `alert(E, ...)`; a runtime subclass captures the column of `E` for every
row, and a per-point Python interpreter (below, written from docs/engine.md, with `math`,
`datetime` and `str` methods rather than numpy) computes what each row should hold.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zoneinfo
from typing import Any

import pytest
from engine_testkit import SECOND, Row, make_batch
from hypothesis import given, settings
from hypothesis import strategies as st

from kapacitor.clock import ManualClock
from kapacitor.dsl.ast import (
    Binary,
    Bool,
    Call,
    Duration,
    Expr,
    Ident,
    Number,
    Regex,
    String,
    Unary,
)
from kapacitor.dsl.compile import compile_script
from kapacitor.dsl.functions import OVERLOADS
from kapacitor.dsl.types import Type
from kapacitor.engine import PluginRuntime, build_program, evaluate
from kapacitor.engine.columns import Scalar, Text
from kapacitor.engine.scalar import NAMES, FuncOp, format_number
from kapacitor.errors import DslTypeError
from kapacitor.model.batch import FieldType

NOW = 1_700_000_000 * SECOND
FT = FieldType

NUMERIC_EXPRS = [
    "pow(x, y)",
    "pow(x, 2)",
    "pow(2, y)",
    "log(x)",
    "log2(x)",
    "log10(y)",
    "exp(x)",
    "sin(x)",
    "cos(y)",
    "tan(x)",
    "min(x, y)",
    "max(x, y, 3)",
    "min(x, 2.5) + max(1, y)",
    "int(x)",
    "float(y)",
    'int(s + "")',
    'float(s + "")',
    "int(b or false)",
    "float(not b)",
    "length(s)",
    'strlen(s + "" + t)',
    "hour(time())",
    "minute(time())",
    "weekday(time())",
    "day(time())",
    "hour(time() + 90m)",
    "day(time() - 1d)",
    "weekday(now())",
    'hour(time(), tz="Europe/Paris")',
    'weekday(time() + 90m, tz="America/New_York")',
    'minute(time(), tz="Asia/Kolkata")',
    'day(time(), tz="Australia/Lord_Howe")',
    "default(x, -1) + 1",
    "asin(x) + acos(y / 1000)",
    "atan(x) + tanh(y)",
    "sinh(x) - cosh(y)",
    "trunc(x) + cbrt(y)",
    "log1p(x) + expm1(y)",
    "exp2(x)",
    "atan2(x, y) + hypot(x, y)",
    "mod(x, y)",
    "mod(x, 3)",
    "month(time())",
    'year(time(), tz="Pacific/Kiritimati")',
    'month(time() - 12h, tz="America/Los_Angeles")',
    "unix_nano(time()) / 1e9",
    "duration(x, 1ms) / 1s",
    "if(b or false, x, y)",
    "if(x > 0, 1, y)",
    'index_of(s, "a")',
    'index_of(s + "", t)',
    "default(x, y)",
    'field("x") * 2',
]
BOOL_EXPRS = [
    "bool(x)",
    'bool(s + "")',
    "is_present(x)",
    "is_present(s) and x > 3",
    'contains(s, "a")',
    "has_prefix(s, t)",
    'prefix(s, "ab")',
    'suffix(s, "b")',
    'has_suffix(tag("host"), "1")',
    "s =~ /^a+b/",
    "s !~ /b$/",
    "regex_match(s, /a.c/)",
    "s == t",
    "s < t",
    "s >= t",
    'tag("host") == "h1"',
    "b and x > 10",
    "b == bool(y)",
    "not b",
    'x < 30 and tag("host") != "h0"',
    'contains(default(s, "a"), "a")',
]
STRING_EXPRS = [
    "string(x)",
    "string(not b)",
    "string(s)",
    'replace(s, "a", "xy")',
    'replace(s, t, "")',
    's + "-" + tag("host")',
    'default(s, "none")',
    'tag("dc")',
    "lower(s)",
    'upper(s + "é")',
    "to_lower(t)",
    "trim(s)",
    'trim_prefix(s, "a")',
    "trim_suffix(s, t)",
    "substring(s, 1)",
    "substring(s, 1, 3)",
    "substring(s, x, y)",
    'regex_replace(s, /(a)(b)?/, "<$1|${2}|$$|$3>")',
    'regex_replace(s, /(?P<first>.)/, "${first}$first$")',
    "human_bytes(x)",
    'if(is_present(s), s, "none")',
    'if(b, string(x), tag("host"))',
]
CASES = (
    [(e, f"alert({e}, >, 0)", "num") for e in NUMERIC_EXPRS]
    + [(e, f"alert({e}, ==, true)", "bool") for e in BOOL_EXPRS]
    + [(e, f'alert({e} == "", ==, true)', "str") for e in STRING_EXPRS]
)


def engine_values(source: str, kind: str, batch_args: tuple[Any, ...]) -> list[object]:
    """Per batch row: the value of the alert's expression, or None where it has none."""
    program = build_program(compile_script(source))
    batch, idx, keys, tags = batch_args
    evaluation = evaluate(program, batch, idx, keys, tags, clock=ManualClock(NOW))
    alert = program.alerts[0]
    col = alert.value
    if kind == "str":
        op = program.ops[col]
        assert isinstance(op, FuncOp) and op.func == "str.cmp"
        col = op.args[0]
    value = evaluation.columns[col]
    assert isinstance(value, Scalar | Text)
    return evaluation.by_row(col)


# --- the reference -----------------------------------------------------------------------------

_TYPES = {
    Type.NUMBER: (FT.FLOAT, FT.INT, FT.UINT),
    Type.STRING: (FT.STRING,),
    Type.BOOL: (FT.BOOL,),
}
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


class Point:
    def __init__(
        self,
        fields: dict[str, tuple[FieldType, Any]],
        time: int,
        tags: dict[str, str],
        types: dict[str, Type],
    ) -> None:
        self.fields, self.time, self.tags, self.types = fields, time, tags, types

    def field(self, name: str) -> object:
        if name not in self.fields:
            return None
        ftype, value = self.fields[name]
        if ftype not in _TYPES[self.types.get(name, Type.NUMBER)]:
            return None
        return float(value) if ftype in (FT.FLOAT, FT.INT, FT.UINT) else value


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


def _math(name: str, args: list[float]) -> float | None:
    fns = {
        "log": math.log,
        "log2": math.log2,
        "log10": math.log10,
        "exp": math.exp,
        "sin": math.sin,
        "cos": math.cos,
        "tan": math.tan,
        "pow": math.pow,
        "asin": math.asin,
        "acos": math.acos,
        "atan": math.atan,
        "sinh": math.sinh,
        "cosh": math.cosh,
        "tanh": math.tanh,
        "trunc": lambda v: float(math.trunc(v)),
        "cbrt": math.cbrt,
        "log1p": math.log1p,
        "expm1": math.expm1,
        "exp2": math.exp2,
        "atan2": math.atan2,
        "hypot": math.hypot,
        "mod": math.fmod,
    }
    if name in ("min", "max"):
        if any(math.isnan(a) for a in args):
            return None
        return min(args) if name == "min" else max(args)
    try:
        return _finite(fns[name](*args))
    except (ValueError, OverflowError):
        return None


def _parse(to: str, s: str) -> object:
    if to == "int":
        if not re.fullmatch(r"[+-]?[0-9]+", s):
            return None
        v = int(s)
        return float(v) if -(2**63) <= v < 2**63 else None
    if to == "float":
        if not re.fullmatch(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", s):
            return None
        return _finite(float(s))
    return True if s in _TRUE else False if s in _FALSE else None


def _convert(to: str, v: object) -> object:
    if isinstance(v, str):
        return v if to == "string" else _parse(to, v)
    if isinstance(v, bool):
        return {"int": float(v), "float": float(v), "bool": v}.get(to, "true" if v else "false")
    assert isinstance(v, float)
    if to == "float":
        return v
    if to == "bool":
        return v != 0
    if to == "int":
        if not math.isfinite(v):
            return None
        t = math.trunc(v)
        return float(t) if -(2**63) <= t < 2**63 else None
    return format_number(v)


def ref(node: Expr, p: Point) -> object:
    """The value of `node` on point `p`: float, bool, str or None (no value)."""
    if isinstance(node, Number):
        return float(node.value)
    if isinstance(node, String):
        return node.value
    if isinstance(node, Bool):
        return node.value
    if isinstance(node, Duration):
        return float(node.ns)
    if isinstance(node, Ident):
        return p.field(node.name)
    if isinstance(node, Unary):
        v = ref(node.operand, p)
        if v is None:
            return None
        return (not v) if node.op == "not" else -v  # type: ignore[operator]
    if isinstance(node, Binary):
        a = ref(node.left, p)
        if node.op in ("=~", "!~"):
            assert isinstance(node.right, Regex)
            if a is None:
                return None
            found = re.search(node.right.pattern, str(a)) is not None
            return found == (node.op == "=~")
        b = ref(node.right, p)
        if a is None or b is None:
            return None
        ops: dict[str, Any] = {
            "==": lambda: a == b,
            "!=": lambda: a != b,
            "<": lambda: a < b,  # type: ignore[operator]
            "<=": lambda: a <= b,  # type: ignore[operator]
            ">": lambda: a > b,  # type: ignore[operator]
            ">=": lambda: a >= b,  # type: ignore[operator]
            "and": lambda: bool(a) and bool(b),
            "or": lambda: bool(a) or bool(b),
            "+": lambda: a + b,  # type: ignore[operator]
            "-": lambda: a - b,  # type: ignore[operator]
            "*": lambda: a * b,  # type: ignore[operator]
            "/": lambda: None if b == 0 else a / b,  # type: ignore[operator]
        }
        return ops[node.op]()
    assert isinstance(node, Call)
    name = node.name
    if name == "time":
        return float(p.time)
    if name == "now":
        return float(NOW)
    if name == "tag":
        assert isinstance(node.args[0], String)
        return p.tags.get(node.args[0].value, "")
    if name == "field":
        assert isinstance(node.args[0], String)
        return p.field(node.args[0].value)
    if name == "is_present":
        assert isinstance(node.args[0], Ident)
        return node.args[0].name in p.fields
    if name == "if":
        cond = ref(node.args[0], p)
        return None if cond is None else ref(node.args[1] if cond else node.args[2], p)
    if name == "default":
        v = ref(node.args[0], p)
        return ref(node.args[1], p) if v is None else v
    if name == "regex_match":
        s = ref(node.args[0], p)
        assert isinstance(node.args[1], Regex)
        return None if s is None else re.search(node.args[1].pattern, str(s)) is not None
    if name == "regex_replace":
        text, repl = ref(node.args[0], p), ref(node.args[2], p)
        assert isinstance(node.args[1], Regex)
        if text is None or repl is None:
            return None
        return _regex_replace(node.args[1].pattern, str(text), str(repl))
    args = [ref(a, p) for a in node.args]
    if any(a is None for a in args):
        return None
    if name in ("int", "float", "string", "bool"):
        return _convert(name, args[0])
    if name in ("hour", "minute", "weekday", "day", "month", "year"):
        assert isinstance(args[0], float)
        zone = next((k.value for k in node.kwargs if k.name == "tz"), None)
        when = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=int(args[0]) // SECOND)
        if isinstance(zone, String):
            when = when.astimezone(zoneinfo.ZoneInfo(zone.value))
        return float(
            {
                "hour": when.hour,
                "minute": when.minute,
                "weekday": when.isoweekday() % 7,
                "day": when.day,
                "month": when.month,
                "year": when.year,
            }[name]
        )
    if name == "unix_nano":
        return args[0]
    if name == "duration":
        unit = node.args[1] if len(node.args) > 1 else Duration(SECOND, "1s")
        assert isinstance(unit, Duration) and isinstance(args[0], float)
        return args[0] * unit.ns
    if name == "human_bytes":
        assert isinstance(args[0], float)
        return _human_bytes(args[0])
    if name == "substring":
        text, start, *stop = args
        assert isinstance(text, str) and isinstance(start, float)
        end = stop[0] if stop else math.inf

        def index(v: object) -> float | None:  # whole and >= 0; infinity is past every end
            assert isinstance(v, float)
            if math.isnan(v) or v < 0 or (math.isfinite(v) and v != math.floor(v)):
                return None
            return v

        a, b = index(start), index(end)
        if a is None or b is None or b < a:
            return None
        # Past-the-end indexes (however large, infinity included) are the end.
        n = len(text)
        return text[n if a > n else int(a) : n if b > n else int(b)]

    strs = [str(a) for a in args]
    if name == "contains":
        return strs[1] in strs[0]
    if name in ("has_prefix", "prefix"):
        return strs[0].startswith(strs[1])
    if name in ("has_suffix", "suffix"):
        return strs[0].endswith(strs[1])
    if name == "replace":
        return strs[0].replace(strs[1], strs[2])
    if name in ("length", "strlen"):
        return float(len(strs[0]))
    if name in ("lower", "to_lower"):
        return strs[0].lower()
    if name in ("upper", "to_upper"):
        return strs[0].upper()
    if name in ("trim", "trim_space"):
        return strs[0].strip()
    if name == "trim_prefix":
        return strs[0][len(strs[1]) :] if strs[0].startswith(strs[1]) else strs[0]
    if name == "trim_suffix":
        cut = len(strs[0]) - len(strs[1])
        return strs[0][:cut] if strs[0].endswith(strs[1]) else strs[0]
    if name == "index_of":
        return float(strs[0].find(strs[1]))
    return _math(name, [float(a) for a in args])  # type: ignore[arg-type]


def _human_bytes(n: float) -> str:
    """go-humanize's Bytes: SI units, one decimal below 10 of a unit."""
    if not math.isfinite(n):
        return str(n)
    sign = "-" if n < 0 else ""
    n = abs(n)
    if n < 10:
        return f"{sign}{int(n)} B"
    unit = 0
    while n >= 1000 ** (unit + 1) and unit < 6:
        unit += 1
    value = math.floor(n / 1000**unit * 10 + 0.5) / 10
    digits = 0 if value >= 10 else 1
    return f"{sign}{value:.{digits}f} {['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'][unit]}"


def _regex_replace(pattern: str, s: str, template: str) -> str:
    """Go's ReplaceAllString, one character of the template at a time."""

    def expand(m: re.Match[str]) -> str:
        out, i = [], 0
        while i < len(template):
            c = template[i]
            if c != "$" or i + 1 == len(template):
                out.append(c)
                i += 1
                continue
            if template[i + 1] == "$":
                out.append("$")
                i += 2
                continue
            braced = template[i + 1] == "{"
            j = i + 2 if braced else i + 1
            k = j
            while k < len(template) and (
                template[k].isascii() and (template[k].isalnum() or template[k] == "_")
            ):
                k += 1
            if k == j or (braced and (k == len(template) or template[k] != "}")):
                out.append(c)
                i += 1
                continue
            name = template[j:k]
            groups = {str(n): m.group(n) for n in range(len(m.groups()) + 1)}
            groups.update(m.groupdict())
            out.append(groups.get(name) or "")
            i = k + 1 if braced else k
        return "".join(out)

    return re.sub(pattern, expand, s)


def same(got: object, want: object) -> bool:
    if isinstance(want, bool):
        want = float(want)
    if want is None or got is None:
        return got is want
    if isinstance(want, str):
        return got == want
    assert isinstance(want, float) and isinstance(got, float)
    if math.isnan(want):
        return math.isnan(got)
    return got == pytest.approx(want, rel=1e-12, abs=1e-300)


# --- streams of points -------------------------------------------------------------------------

NUMBERS = st.one_of(
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, 2.5, -3.7, 1e300, -1e300, 2.0**63, -(2.0**63)]),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e-320, 710.0, 9.2e18]),
    st.floats(-1e6, 1e6),
    st.integers(-100, 100).map(float),
)
INTS = st.one_of(st.integers(-100, 100), st.integers(-(2**63), 2**63 - 1))
STRINGS = st.one_of(
    st.text("ab-c\u00e9", max_size=5),
    st.sampled_from(["-42", "+7", "2.5e3", ".5", "1_0", " 1", "nan", "inf", "1e999", "true"]),
    st.sampled_from(["T", "0", "False", "yes", "9223372036854775808", "-9223372036854775808"]),
)


@st.composite
def batches(draw: st.DrawFn) -> tuple[list[Row], dict[str, FieldType]]:
    types: dict[str, FieldType] = {}
    for name, choices in (
        ("x", [FT.FLOAT, FT.INT, FT.UINT, FT.STRING, FT.BOOL]),
        ("y", [FT.FLOAT, FT.INT, FT.FLOAT]),
        ("s", [FT.STRING, FT.STRING, FT.FLOAT]),
        ("t", [FT.STRING]),
        ("b", [FT.BOOL, FT.BOOL, FT.INT]),
    ):
        if draw(st.integers(0, 9)) > 0:
            types[name] = draw(st.sampled_from(choices))
    strategy = {
        FT.FLOAT: NUMBERS,
        FT.INT: INTS,
        FT.UINT: st.integers(0, 2**64 - 1),
        FT.STRING: STRINGS,
        FT.BOOL: st.booleans(),
    }
    rows = []
    for _ in range(draw(st.integers(1, 30))):
        fields = {
            name: draw(strategy[ftype])
            for name, ftype in types.items()
            if draw(st.integers(0, 5)) > 0
        }
        seconds = draw(st.integers(-3 * 10**9, 4 * 10**9))
        rows.append(Row(draw(st.integers(0, 3)), seconds * SECOND, fields))
    return rows, types


@pytest.mark.parametrize(("expr", "source", "kind"), CASES, ids=[c[0] for c in CASES])
# dear: each example runs every function on engine and reference
@settings(max_examples=settings.default.max_examples // 4)
@given(data=batches())
def test_function_matches_reference(
    expr: str, source: str, kind: str, data: tuple[list[Row], dict[str, FieldType]]
) -> None:
    rows, types = data
    batch, idx, keys, tags, _ = make_batch(rows, types)
    for k, tag in enumerate(tags):
        if k % 2:
            tag["dc"] = f"dc{k}"
    checked = compile_script(source)
    got = engine_values(source, kind, (batch, idx, keys, tags))
    node = checked.alerts[0].args[0]
    if kind == "str":
        assert isinstance(node, Binary)
        node = node.left
    for i, row in enumerate(rows):
        # The point's fields as the batch holds them (make_batch casts to the column type).
        fields = {
            name: (types[name], batch.fields[name].values[i])
            for name in row.fields
            if name in types
        }
        fields = {n: (t, bool(v) if t is FT.BOOL else v) for n, (t, v) in fields.items()}
        point = Point(fields, row.time, tags[int(idx[i])], dict(checked.fields))
        want = ref(node, point)
        assert same(got[i], want), (expr, row, got[i], want)


# --- edge cases --------------------------------------------------------------------------------


def run_rows(
    source: str, kind: str, values: list[Any], ftype: FieldType = FT.FLOAT
) -> list[object]:
    rows = [Row(0, NOW + i * SECOND, {"x": v}) for i, v in enumerate(values)]
    batch, idx, keys, tags, _ = make_batch(rows, {"x": ftype})
    return engine_values(source, kind, (batch, idx, keys, tags))


@pytest.mark.parametrize(
    ("expr", "values", "expected"),
    [
        ("log(x)", [0.0, -1.0, math.e, math.nan, math.inf], [None, None, 1.0, None, None]),
        ("log10(x)", [1000.0, 0.0], [3.0, None]),
        ("pow(x, -1)", [0.0, 2.0], [None, 0.5]),
        ("pow(x, 0.5)", [-8.0, 4.0], [None, 2.0]),
        ("pow(x, 2)", [1e200, -3.0], [None, 9.0]),
        ("exp(x)", [1000.0, -math.inf, 0.0], [None, 0.0, 1.0]),
        ("sin(x)", [math.inf, 0.0], [None, 0.0]),
        ("min(x, 1)", [math.nan, math.inf, -math.inf], [None, 1.0, -math.inf]),
        (
            "int(x)",
            [-3.7, 3.7, 1e300, 2.0**63, -(2.0**63), math.nan],
            [-3.0, 3.0, None, None, -(2.0**63), None],
        ),
        ("float(x)", [2.5], [2.5]),
    ],
)
def test_numeric_edge_cases(expr: str, values: list[float], expected: list[float | None]) -> None:
    assert run_rows(f"alert({expr}, >, 0)", "num", values) == expected


@pytest.mark.parametrize(
    ("expr", "values", "expected"),
    [
        (
            "int(x)",
            ["42", "-7", "+3", "3.5", " 1", "1_0", "9223372036854775808", ""],
            [42.0, -7.0, 3.0, None, None, None, None, None],
        ),
        (
            "float(x)",
            ["2.5e3", ".5", "1.", "1e999", "nan", "inf", "0x10"],
            [2500.0, 0.5, 1.0, None, None, None, None],
        ),
        ("length(x)", ["", "héllo"], [0.0, 5.0]),
    ],
)
def test_string_parsing(expr: str, values: list[str], expected: list[float | None]) -> None:
    source = f"alert({expr.replace('(x)', '(x + ' + chr(34) * 2 + ')')}, >, 0)"
    assert run_rows(source, "num", values, FT.STRING) == expected


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        # Indexes past the end of every string, beyond 2**62 and without a stop (infinity):
        # the end, so an empty string, never "no value" (hypothesis found the reference wrong).
        ("substring(x, 4611686018427388928)", ["", ""]),
        ("substring(x, 1, 4611686018427388928)", ["bc", ""]),
        ("substring(x, 4611686018427388928, 4611686018427389952)", ["", ""]),
        ("substring(x, 2, 1)", [None, None]),
    ],
)
def test_substring_past_the_end(expr: str, expected: list[str | None]) -> None:
    source = f'alert({expr.replace("(x", "(x + " + chr(34) * 2)} == "", ==, true)'
    assert run_rows(source, "str", ["abc", ""], FT.STRING) == expected


def test_bool_of_strings_and_string_of_numbers() -> None:
    got = run_rows(
        'alert(bool(x + ""), ==, true)', "bool", ["T", "false", "1", "yes", "True"], FT.STRING
    )
    assert got == [1.0, 0.0, 1.0, None, 1.0]
    got = run_rows(
        'alert(string(x) == "", ==, true)', "str", [30.0, 27.5, 1e21, math.nan, -math.inf, -0.0]
    )
    assert got == ["30", "27.5", "1e+21", "NaN", "-Inf", "0"]
    assert run_rows('alert(string(x) == "", ==, true)', "str", [2**62], FT.INT) == [str(2**62)]


def test_time_parts_are_utc_and_exact() -> None:
    def at(text: str) -> int:
        return int(dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp()) * SECOND

    times = [
        at("1970-01-01T00:00:00"),
        at("2024-03-03T23:59:59") + SECOND - 1,
        at("1969-12-31T13:45:00"),
    ]
    rows = [Row(0, t, {"x": 1.0}) for t in times]
    batch, idx, keys, tags, _ = make_batch(rows, {"x": FT.FLOAT})
    for expr, expected in [
        ("weekday(time())", [4.0, 0.0, 3.0]),  # Thursday, Sunday, Wednesday
        ("hour(time())", [0.0, 23.0, 13.0]),  # 23:59:59.999999999 is still 23h (exact)
        ("minute(time())", [0.0, 59.0, 45.0]),
        ("day(time())", [1.0, 3.0, 31.0]),
    ]:
        assert engine_values(f"alert({expr}, >, -1)", "num", (batch, idx, keys, tags)) == expected


def test_time_parts_in_a_zone_follow_daylight_saving_time() -> None:
    def at(text: str) -> int:
        return int(dt.datetime.fromisoformat(text).timestamp()) * SECOND

    # Paris: 2026-03-29 01:00 UTC jumps from 02:00 to 03:00 local; 2026-10-25 01:00 UTC
    # falls back from 03:00 to 02:00. Adelaide falls back from +10:30 to +9:30 at 16:30 UTC,
    # inside an hour of UTC.
    times = [
        at("2026-03-29T00:59:59+00:00"),
        at("2026-03-29T01:00:00+00:00"),
        at("2026-10-25T00:59:59+00:00"),
        at("2026-10-25T01:00:00+00:00"),
        at("2026-04-04T16:00:00+00:00"),
        at("2026-04-04T16:29:59+00:00"),
        at("2026-04-04T16:30:00+00:00"),
        at("2026-04-04T16:59:59+00:00"),
    ]
    rows = [Row(0, t, {"x": 1.0}) for t in times]
    batch, idx, keys, tags, _ = make_batch(rows, {"x": FT.FLOAT})
    args = (batch, idx, keys, tags)
    paris = engine_values('alert(hour(time(), tz="Europe/Paris"), >, -1)', "num", args)
    assert paris[:4] == [1.0, 3.0, 2.0, 2.0]
    adelaide = [
        engine_values(f'alert({part}(time(), tz="Australia/Adelaide"), >, -1)', "num", args)[4:]
        for part in ("hour", "minute")
    ]
    assert list(zip(*adelaide, strict=True)) == [(2, 30), (2, 59), (2, 0), (2, 29)]
    assert engine_values("alert(hour(time()), >, -1)", "num", args)[:2] == [0.0, 1.0]


def test_time_zone_errors() -> None:
    with pytest.raises(DslTypeError, match='did you mean "America/New_York"') as e:
        compile_script('alert(hour(time(), tz="america/newyork"), >, 1)')
    assert (e.value.span.line, e.value.span.col) == (1, 23)
    with pytest.raises(DslTypeError, match="'tz' of hour\\(\\) must be known"):
        compile_script('alert(hour(time(), tz=tag("zone")), >, 1)')


def test_tags_strings_and_bools_drive_alerts() -> None:
    source = 'alert(usage_idle < 30 and tag("host") =~ /^h[01]$/, ==, true, message="{host} idle")'
    program = build_program(compile_script(source))
    runtime = PluginRuntime("p", program, ManualClock())
    rows = [Row(i % 3, (i + 1) * SECOND, {"usage_idle": 20.0 if i < 6 else 50.0}) for i in range(9)]
    batch, idx, keys, tags, _ = make_batch(rows, {"usage_idle": FT.FLOAT})
    events = runtime.process(batch, idx, keys, tags).events
    assert [(e.instance, e.level) for e in events] == [
        ("cpu,host=h0", "CRITICAL"),
        ("cpu,host=h1", "CRITICAL"),
        ("cpu,host=h0", "OK"),
        ("cpu,host=h1", "OK"),
    ]
    assert events[0].message == "h0 idle"


def test_string_and_bool_fields_and_skipping() -> None:
    source = 'alert(status == "down" and not maintenance, ==, true)'
    program = build_program(compile_script(source))
    assert str(program).splitlines()[:2] == ["%0 = field status as string", '%1 = const "down"']
    runtime = PluginRuntime("p", program, ManualClock())
    rows = [
        Row(0, 1, {"status": "down", "maintenance": False}),
        Row(0, 2, {"status": "up", "maintenance": False}),
        Row(0, 3, {"status": "down"}),  # no maintenance field: skipped, no evaluation
        Row(0, 4, {"status": "down", "maintenance": True}),
    ]
    batch, idx, keys, tags, _ = make_batch(rows, {"status": FT.STRING, "maintenance": FT.BOOL})
    result = runtime.process(batch, idx, keys, tags)
    assert [(e.level, e.time) for e in result.events] == [("CRITICAL", 1), ("OK", 2)]
    assert (result.points, result.skipped) == (3, 1)


def test_default_and_is_present_never_skip() -> None:
    source = "alert(default(errors, 0) + int(is_present(warn)), >, 5)"
    program = build_program(compile_script(source))
    runtime = PluginRuntime("p", program, ManualClock())
    rows = [Row(0, 1, {"errors": 9}), Row(0, 2, {}), Row(0, 3, {"warn": 1, "errors": 5})]
    batch, idx, keys, tags, _ = make_batch(rows, {"errors": FT.INT, "warn": FT.INT})
    result = runtime.process(batch, idx, keys, tags)
    assert (result.points, result.skipped) == (3, 0)
    assert [(e.level, e.value) for e in result.events] == [
        ("CRITICAL", 9.0),
        ("OK", 0.0),
        ("CRITICAL", 6.0),
    ]


def test_min_and_max_dispatch_on_arity() -> None:
    program = build_program(compile_script("alert(min(window(x, 3)) + max(x, y, 1), >, 0)"))
    text = str(program)
    assert "agg.min" in text and "math.max %0 %3 %4" in text


@pytest.mark.parametrize(
    ("source", "message", "where"),
    [
        (
            'alert(contains(1, "a"), ==, true)',
            "contains() expects a string for 's', got an int",
            "1:16",
        ),
        (
            "alert(has_prefix(s, 2), ==, true)",
            "has_prefix() expects a string for 'prefix', got an int",
            "1:21",
        ),
        ('alert(log(s + ""), >, 1)', "log() expects a number for 'x', got a string", "1:11"),
        (
            "alert(min(x), >, 1)",
            "min expects a vector, got a scalar: did you mean min(window(x, N))?",
            "1:11",
        ),
        ('alert(min(x, "a"), >, 1)', "min() expects a number for 'b', got a string", "1:14"),
        ("alert(hour(3), >, 1)", "hour() expects a time for 't', got an int", "1:12"),
        (
            'alert(if(x > 1, "a", 2) == "a", ==, true)',
            "if() needs two values of one type, got a string and an int",
            "1:7",
        ),
        ("alert(if(x > 1, window(x, 2), 1), >, 1)", "if() needs two values of one type", "1:17"),
        ("alert(duration(x, 0s), >, 1s)", "duration(): 'unit' must be a duration > 0", "1:19"),
        ("alert(lower(x + 1) == 1, ==, true)", "lower() expects a string for 's'", "1:13"),
        ('alert(regex_replace(s, "a", s) == s, ==, true)', "expects a regex for 're'", "1:24"),
        (
            'alert(regex_match(s, "a"), ==, true)',
            "regex_match() expects a regex for 're', got a string",
            "1:22",
        ),
        ("alert(is_present(x + 1), ==, true)", "is_present() takes a field name", "1:18"),
        (
            'alert(default(x, 0) == "a", ==, true)',
            "field 'x' is used as a string here, but as a number",
            "1:7",
        ),
        ("alert(default(x, 0), >, true)", "the threshold must be a number", "1:25"),
        ("alert(x > 1, <, true)", "alert() compares bools with == or != only", "1:14"),
        ("alert(pow(2), >, 1)", "pow() takes 2 arguments, got 1", "1:7"),
    ],
)
def test_type_errors_name_the_position(source: str, message: str, where: str) -> None:
    with pytest.raises(DslTypeError) as info:
        compile_script(source)
    assert message in str(info.value)
    assert str(info.value).startswith(where + ":")


def test_plan_printing_and_sharing() -> None:
    source = 'alert(contains(tag("host"), "a") and host =~ /x\\/y/ and pow(v, 2) > 1, ==, true)'
    text = str(build_program(compile_script(source)))
    assert "tag host" in text and "str.match %" in text and "/x\\/y/" in text and "math.pow" in text


@pytest.mark.parametrize("name", sorted(NAMES))
def test_examples_plan(name: str) -> None:
    """Every stateless function's documented example runs through the engine's planner."""
    for fn in OVERLOADS[name]:
        build_program(compile_script(fn.example))
