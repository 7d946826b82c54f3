"""The registry of the language's functions: signatures and documentation, no implementations.

One `Function` entry per function (aliases share it). The checker validates calls against it
and binds each call to its entry (`CheckedScript.call(node)`); the engine plans a call by that
entry, from the planner tables of its family modules, which must cover `REGISTRY` (plan.py
asserts it). Adding a function is adding one entry to `_REGISTRY` and its planner;
docs/language.md embeds `markdown()` (a test keeps them equal).

`python -m kapacitor.dsl.functions` prints that markdown.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Final

from kapacitor.alerting.flapping import DEFAULT_HISTORY
from kapacitor.config import DEFAULT_RP
from kapacitor.dsl.types import FIELD_TYPES, NUMERIC, SCALAR, Type, type_name


class _Required:
    """Marks a parameter with no default: the call must pass it."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Final = _Required()


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter. `default` is REQUIRED, or the value used when the call omits it; a
    default of None means "not set" (the function's doc says what that does)."""

    name: str
    type: Type
    default: object = REQUIRED
    keyword_only: bool = False  # can only be passed as name=value
    const: bool = False  # must be known at define time: a literal, or a let bound to one
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def __str__(self) -> str:
        text = f"{self.name}: {type_name(self.type)}"
        if not self.required:
            text += " = " + _literal(self.default)
        return text


class Kind(Enum):
    """What a function does, in the order the reference documents them."""

    WINDOW = "Windows"
    AGGREGATE = "Aggregates (vector -> scalar)"
    VECTOR = "Vector functions (vector -> vector)"
    MATH = "Math (scalar -> float)"
    CONVERSION = "Conversions"
    STRING = "Strings"
    TIME = "Time of a point (UTC, or a time zone)"
    STREAM = "Stream functions (stateful, per series)"
    POINT = "Reading the point"
    ALERT = "Alerts"
    OUTPUT = "Outputs"


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    params: tuple[Param, ...]
    returns: Type  # for field(): FIELD_TYPES, i.e. whatever the field holds
    kind: Kind
    doc: str
    example: str
    aliases: tuple[str, ...] = ()
    variadic: bool = False  # the last positional parameter may be repeated: min(a, b, ...)
    # Named arguments beyond `params` are allowed (handler()'s options), checked by the
    # function's extra check.
    open_keywords: bool = False

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    @property
    def positional(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if not p.keyword_only)

    def signature(self) -> str:
        """`window(x: number, size: int | duration, *, every: int | duration = none, ...)`."""
        parts = [str(p) for p in self.positional]
        if self.variadic:
            parts.append("...")
        named = [str(p) for p in self.params if p.keyword_only]
        if named or self.open_keywords:
            parts += ["*", *named]
        if self.open_keywords:
            parts.append("**options")
        returns = "field type" if self.returns == FIELD_TYPES else type_name(self.returns)
        return f"{self.name}({', '.join(parts)}) -> {returns}"


def _literal(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value + '"'
    return str(value)


ALERT_LEVELS: Final = ("info", "warning", "critical")
_TOPIC = Param(
    "topic",
    Type.STRING,
    None,
    keyword_only=True,
    const=True,
    doc="the topic its events go to, where topic handlers (`kapacitor define-topic-handler`) "
    'deliver them, e.g. "cpu": letters, digits and _ - . : (none: the plugin\'s own handlers '
    "only)",
)


def _reset(name: str, level: str) -> Param:
    return Param(
        name,
        NUMERIC | Type.DURATION | Type.BOOL,
        None,
        keyword_only=True,
        doc=f"keeps {level} raised until the value is back past this threshold, compared "
        "the other way (`alert(cpu, >, 90, reset=70)`: until cpu < 70; `>=` becomes `<=`, "
        "`==` `!=`); with a bool value, until this condition holds (Kapacitor's "
        "critReset/warnReset/infoReset)",
    )


_ID = Param(
    "id",
    Type.STRING,
    None,
    keyword_only=True,
    const=True,
    doc="the alert's id, a template of what stays the same across its events "
    '(`{plugin}`, `{instance}`, `{topic}`, tags: "{host}/cpu"): it names the alert '
    "in topics, `kapacitor alerts` and receivers that deduplicate (PagerDuty's "
    "dedup key); none: `<plugin>:<instance>`",
)
_DETAILS = Param(
    "details",
    Type.STRING,
    None,
    keyword_only=True,
    const=True,
    doc="a longer text for receivers that show one (email body, PagerDuty "
    "details): a template with the placeholders of `message`",
)
_CATEGORY = Param(
    "category",
    Type.STRING,
    None,
    keyword_only=True,
    const=True,
    doc="the category an `inhibit` of another alert names",
)
_INHIBIT = (
    Param(
        "inhibit",
        Type.STRING,
        None,
        keyword_only=True,
        const=True,
        doc="a category (another alert's `category=`) whose events this alert holds back "
        "while it is raised: they are recorded but sent to no handler (Kapacitor's "
        ".inhibit(); a host that is down need not also page for its disks)",
    ),
    Param(
        "inhibit_tags",
        Type.STRING,
        None,
        keyword_only=True,
        const=True,
        doc='with `inhibit`: the tags, comma separated ("host,dc"), an event must share '
        "with this alert's instance to be held back (none: every event of the category)",
    ),
)
_NOTIFY = Param(
    "notify",
    Type.HANDLER | Type.LIST,
    None,
    keyword_only=True,
    doc="handlers of this alert's events, from the script: one `handler(...)` or a list "
    'of them, `[handler("slack"), handler("pagerduty2")]`; they are topic handlers '
    "of the alert's topic (without `topic=`: its own, `<plugin>:alert<N>`, as Kapacitor's "
    "anonymous topics), defined and deleted with the plugin",
)

_V = Param("v", Type.VECTOR)


# The parameters the outputs share.
_OUT_VALUE = Param(
    "value", NUMERIC | Type.BOOL | Type.STRING, doc="the value written, per evaluated point"
)
_OUT_MEASUREMENT = Param(
    "measurement",
    Type.STRING,
    "",
    keyword_only=True,
    const=True,
    doc="the measurement written (empty: the point's)",
)
_OUT_FIELD = Param(
    "field", Type.STRING, "value", keyword_only=True, const=True, doc="the field written"
)
_OUT_TAGS = Param(
    "tags",
    Type.LIST,
    None,
    keyword_only=True,
    const=True,
    doc='tags added to every point, as "key=value" strings: `tags=["source=kapacitor"]`',
)


def _aggregate(name: str, doc: str, returns: Type = Type.FLOAT, *aliases: str) -> Function:
    example = f"alert({name}(window(value, 5m)), >, 90)"
    return Function(name, (_V,), returns, Kind.AGGREGATE, doc, example, aliases)


def _math(name: str, doc: str, example: str) -> Function:
    return Function(name, (Param("x", NUMERIC),), Type.FLOAT, Kind.MATH, doc, example)


class _Dur(int):
    """A duration default (ns) that prints as written: `unit: duration = 1s`."""

    text: str

    def __new__(cls, ns: int, text: str) -> _Dur:
        self = super().__new__(cls, ns)
        self.text = text
        return self

    def __str__(self) -> str:
        return self.text


_TZ = Param(
    "tz",
    Type.STRING,
    "UTC",
    keyword_only=True,
    const=True,
    doc='an IANA time zone, e.g. "Europe/Paris" (daylight saving time included); part of '
    "the script, so a plugin reads the same hours wherever it runs or is replayed",
)

# --- stateful stream functions (engine: kapacitor/engine/stream.py) ---
_X = Param("x", NUMERIC, doc="the value; points without it are not counted")
_UNIT = Param(
    "unit", Type.DURATION, _Dur(1_000_000_000, "1s"), const=True, doc="the time unit of the result"
)
_COND = Param("cond", Type.BOOL, doc="the condition; points where it has no value are ignored")


def _stream(
    name: str, params: tuple[Param, ...], returns: Type, doc: str, example: str
) -> Function:
    return Function(name, params, returns, Kind.STREAM, doc, example)


_STREAM: tuple[Function, ...] = (
    _stream(
        "derivative",
        (
            _X,
            _UNIT,
            Param(
                "non_negative",
                Type.BOOL,
                False,
                keyword_only=True,
                const=True,
                doc="no value where x decreased (counter resets)",
            ),
        ),
        Type.FLOAT,
        "The rate of change per `unit` since the series' previous point: "
        "(x - x_prev) / ((t - t_prev) / unit). No value on a series' first point; a point "
        "with the same time as the previous one has no value and is ignored.",
        "alert(derivative(bytes_sent, 1s, non_negative=true), >, 1e6)",
    ),
    _stream(
        "difference",
        (_X,),
        Type.FLOAT,
        "x minus the series' previous value of x; no value on the first.",
        "alert(abs(difference(value)), >, 10)",
    ),
    _stream(
        "elapsed",
        (_X, _UNIT),
        Type.FLOAT,
        "The time since the series' previous point having x, in `unit`s; no value on the first.",
        "alert(elapsed(value, 1s), >, 60)",
    ),
    _stream(
        "cumulative_sum",
        (_X,),
        Type.FLOAT,
        "The sum of all of the series' values of x so far, this one included.",
        "alert(cumulative_sum(errors), >, 100)",
    ),
    _stream(
        "moving_average",
        (_X, Param("n", Type.INT, const=True, doc="how many values, > 0")),
        Type.FLOAT,
        "The mean of the series' last `n` values of x, once it has `n` (same as "
        "avg(window(x, n))).",
        "alert(moving_average(value, 10), >, 90)",
    ),
    _stream(
        "state_duration",
        (_COND, _UNIT),
        Type.FLOAT,
        "How long `cond` has been true for the series, in `unit`s: 0 on the point it becomes "
        "true, -1 while it is false.",
        "alert(state_duration(cpu > 90, 1m), >=, 5)",
    ),
    _stream(
        "state_count",
        (_COND,),
        Type.INT,
        "How many consecutive points `cond` has been true for the series: 1 on the point it "
        "becomes true, -1 while it is false.",
        "alert(state_count(errors > 0), >=, 3)",
    ),
    _stream(
        "changed",
        (Param("x", NUMERIC | Type.BOOL, doc="the value; points without it are not counted"),),
        Type.BOOL,
        "Whether x differs from the series' previous value of x; false on the first.",
        "alert(changed(status), ==, true)",
    ),
    _stream(
        "sigma",
        (_X,),
        Type.FLOAT,
        "How many standard deviations x is from the mean of the series' values so far, this "
        "one included (sample standard deviation); 0 for the first two values and while all "
        "values are equal.",
        "alert(sigma(value), >, 3)",
    ),
    _stream(
        "sample",
        (
            _X,
            Param(
                "every",
                Type.INT | Type.DURATION,
                const=True,
                doc="an int: every `every`-th value of the series, starting with the first; a "
                "duration: the first value in each `every`-long period since the epoch",
            ),
        ),
        Type.FLOAT,
        "x on sampled points only; no value on the others.",
        "alert(sample(value, 10s), >, 90)",
    ),
    _stream(
        "shift",
        (
            Param("x", NUMERIC, doc="the value; points without it are not counted"),
            Param(
                "by",
                Type.INT | Type.DURATION,
                const=True,
                doc="an int: the value `by` points before this one; a duration: the value of "
                "the newest point at or before this point's time minus `by`",
            ),
        ),
        Type.FLOAT,
        "The value `x` had earlier in the series, to compare a series with its own past "
        "(Kapacitor's shift() joined back to the stream). No value until the series reaches "
        "back that far: `by` points, or a first point at least `by` older than this one.",
        "alert(value - shift(value, 1h), >, 50)",
    ),
)


_REGISTRY: tuple[Function, ...] = (
    Function(
        "window",
        (
            Param("x", NUMERIC, doc="the value each point contributes"),
            Param(
                "size",
                Type.INT | Type.DURATION,
                const=True,
                doc="an int: the last `size` points; a duration: the points of the last `size` "
                "of time (by point timestamp)",
            ),
            Param(
                "every",
                Type.INT | Type.DURATION,
                None,
                keyword_only=True,
                const=True,
                doc="emit only every `every` points (int) or every `every` of time (duration), "
                "of the same kind as `size` (`every` = `size`: tumbling windows); none: after "
                "every point. A time window emitted at boundary b holds the points in "
                "[b - size, b) and is evaluated on the first point at or after b",
            ),
            Param(
                "align",
                Type.BOOL,
                False,
                keyword_only=True,
                const=True,
                doc="time windows only: emit at multiples of `every` (of `size` when `every` "
                "is none) since the epoch, e.g. [12:00:00, 12:00:10), instead of counting from "
                "the series' first point",
            ),
        ),
        Type.VECTOR,
        Kind.WINDOW,
        "The recent values of `x`, per series. A count window yields nothing until it holds "
        "`size` points; a time window yields whatever arrived within `size`. A point missing "
        "`x` does not enter the window.",
        "alert(avg(window(value, 5m, every=1m)), <, 30)",
    ),
    _aggregate("avg", "The arithmetic mean.", Type.FLOAT, "mean"),
    _aggregate("sum", "The sum; 0 for an empty window."),
    _aggregate("count", "The number of points; 0 for an empty window.", Type.INT),
    _aggregate("min", "The smallest value."),
    _aggregate("max", "The largest value."),
    _aggregate("first", "The oldest value in the window."),
    _aggregate("last", "The newest value in the window."),
    _aggregate("median", "The middle value; the mean of the two middle ones for an even count."),
    _aggregate("spread", "max - min."),
    _aggregate("stddev", "The sample standard deviation (n - 1); needs two points."),
    Function(
        "percentile",
        (_V, Param("p", NUMERIC, const=True, doc="0 to 100")),
        Type.FLOAT,
        Kind.AGGREGATE,
        "The `p`-th percentile, nearest rank: the smallest value with at least p% of the "
        "values at or below it.",
        "alert(percentile(window(latency, 100), 99), >, 250)",
    ),
    _aggregate(
        "mode",
        "The most frequent value; of several equally frequent ones, the smallest.",
    ),
    Function(
        "holt_winters",
        (
            _V,
            Param("h", Type.INT, const=True, doc="how many steps ahead, >= 1"),
            Param(
                "season",
                Type.INT,
                0,
                const=True,
                doc="the season's length in values (e.g. 24 for hourly values and a daily "
                "cycle); 0 or 1: no season",
            ),
        ),
        Type.FLOAT,
        Kind.AGGREGATE,
        "The value Holt-Winters exponential smoothing predicts `h` steps after the window's "
        "newest value, as InfluxQL's HOLT_WINTERS(): additive trend, multiplicative season, "
        "smoothing parameters fitted to the window (least squares, Nelder-Mead). The window's "
        "values are the steps, so feed it regular values, e.g. a count window of per-minute "
        "averages. No value with fewer than 2 values (2 * season with a season) or when the "
        "fit fails. The fit runs on every window it receives: prefer windows with every=.",
        "alert(holt_winters(window(avg(window(value, 1m, every=1m)), 60), 10), >, 90)",
    ),
    Function(
        "distinct",
        (_V,),
        Type.VECTOR,
        Kind.VECTOR,
        "The distinct values of the window, ascending (as InfluxQL's distinct()); count them "
        "with count(distinct(...)).",
        "alert(count(distinct(window(status_code, 5m))), >, 3)",
    ),
    Function(
        "top",
        (_V, Param("n", Type.INT, const=True, doc="how many values, > 0")),
        Type.VECTOR,
        Kind.VECTOR,
        "The `n` largest values of the window (all of them when it holds fewer), in window "
        "order; of equal values the older ones are taken first.",
        "alert(avg(top(window(latency, 100), 5)), >, 250)",
    ),
    Function(
        "bottom",
        (_V, Param("n", Type.INT, const=True, doc="how many values, > 0")),
        Type.VECTOR,
        Kind.VECTOR,
        "The `n` smallest values of the window (all of them when it holds fewer), in window "
        "order; of equal values the older ones are taken first.",
        "alert(avg(bottom(window(free_mb, 100), 5)), <, 10)",
    ),
    _math("abs", "The absolute value.", "alert(abs(value - 20), >, 5)"),
    _math("sqrt", "The square root; no value for a negative x.", "alert(sqrt(value), >, 3)"),
    _math("floor", "The largest integral value <= x.", "alert(floor(value), ==, 0)"),
    _math("ceil", "The smallest integral value >= x.", "alert(ceil(value), >=, 1)"),
    _math(
        "round",
        "x rounded to the nearest integer, halves away from zero.",
        "alert(round(value), >, 3)",
    ),
    # --- stateless scalar functions (engine: kapacitor/engine/scalar.py, strings.py) ---
    Function(
        "pow",
        (Param("x", NUMERIC), Param("y", NUMERIC)),
        Type.FLOAT,
        Kind.MATH,
        "x raised to the power y; no value where the result is not a finite number "
        "(pow(0, -1), pow(-8, 0.5), overflow).",
        "alert(pow(value, 2), >, 100)",
    ),
    _math(
        "log",
        "The natural logarithm; no value for x <= 0.",
        "alert(log(value), >, 2)",
    ),
    _math("log2", "The base-2 logarithm; no value for x <= 0.", "alert(log2(value), >, 10)"),
    _math("log10", "The base-10 logarithm; no value for x <= 0.", "alert(log10(value), >, 3)"),
    _math("exp", "e raised to the power x; no value on overflow.", "alert(exp(value), >, 100)"),
    _math("sin", "The sine of x radians.", "alert(sin(value), >, 0.5)"),
    _math("cos", "The cosine of x radians.", "alert(cos(value), >, 0.5)"),
    _math("tan", "The tangent of x radians.", "alert(tan(value), >, 1)"),
    _math("asin", "The arc sine, in radians; no value outside [-1, 1].", "alert(asin(x), >, 1)"),
    _math("acos", "The arc cosine, in radians; no value outside [-1, 1].", "alert(acos(x), <, 1)"),
    _math("atan", "The arc tangent, in radians.", "alert(atan(slope), >, 0.7)"),
    _math("sinh", "The hyperbolic sine; no value on overflow.", "alert(sinh(x), >, 10)"),
    _math("cosh", "The hyperbolic cosine; no value on overflow.", "alert(cosh(x), >, 10)"),
    _math("tanh", "The hyperbolic tangent.", "alert(tanh(x), >, 0.9)"),
    _math("trunc", "x without its fraction (toward zero).", "alert(trunc(value), ==, 3)"),
    _math("cbrt", "The cube root.", "alert(cbrt(volume), >, 2)"),
    _math("log1p", "log(1 + x), exact for small x; no value for x <= -1.", "alert(log1p(x), >, 1)"),
    _math("expm1", "exp(x) - 1, exact for small x; no value on overflow.", "alert(expm1(x), >, 1)"),
    _math("exp2", "2 raised to the power x; no value on overflow.", "alert(exp2(bits), >, 1024)"),
    Function(
        "atan2",
        (Param("y", NUMERIC), Param("x", NUMERIC)),
        Type.FLOAT,
        Kind.MATH,
        "The angle of the point (x, y), in radians, -pi to pi.",
        "alert(atan2(north, east), >, 1.5)",
    ),
    Function(
        "hypot",
        (Param("x", NUMERIC), Param("y", NUMERIC)),
        Type.FLOAT,
        Kind.MATH,
        "sqrt(x*x + y*y), without overflow in between.",
        "alert(hypot(dx, dy), >, 10)",
    ),
    Function(
        "mod",
        (Param("x", NUMERIC), Param("y", NUMERIC)),
        Type.FLOAT,
        Kind.MATH,
        "The remainder of x / y with the sign of x (as the `%` operator); no value for y = 0.",
        "alert(mod(counter, 100), ==, 0)",
    ),
    Function(
        "min",
        (Param("a", NUMERIC), Param("b", NUMERIC)),
        Type.FLOAT,
        Kind.MATH,
        "The smallest of two or more numbers, per point (with one argument, min is the "
        "aggregate of a window); no value if one of them is NaN.",
        "alert(min(user, system), >, 50)",
        variadic=True,
    ),
    Function(
        "max",
        (Param("a", NUMERIC), Param("b", NUMERIC)),
        Type.FLOAT,
        Kind.MATH,
        "The largest of two or more numbers, per point (with one argument, max is the "
        "aggregate of a window); no value if one of them is NaN.",
        "alert(max(read_ms, write_ms, 0), >, 250)",
        variadic=True,
    ),
    Function(
        "int",
        (Param("x", NUMERIC | Type.STRING | Type.BOOL),),
        Type.INT,
        Kind.CONVERSION,
        "x as an int: a number truncated toward zero (no value for NaN, infinities and "
        'numbers outside the 64-bit range), a bool as 1 or 0, a string such as "-42" parsed '
        "(no value if it is not a decimal integer).",
        "alert(int(value) % 2, ==, 1)",
    ),
    Function(
        "float",
        (Param("x", NUMERIC | Type.STRING | Type.BOOL),),
        Type.FLOAT,
        Kind.CONVERSION,
        'x as a float: a bool as 1 or 0, a string such as "2.5e3" parsed (no value if it is '
        "not a finite decimal number).",
        'alert(float(field("temp text")), >, 40)',
    ),
    Function(
        "string",
        (Param("x", NUMERIC | Type.STRING | Type.BOOL),),
        Type.STRING,
        Kind.CONVERSION,
        'x as text: numbers as written (`30`, `27.5`, `1e+20`, `NaN`), bools as "true" or "false".',
        'alert(string(code) == "500", ==, true)',
    ),
    Function(
        "bool",
        (Param("x", NUMERIC | Type.STRING | Type.BOOL),),
        Type.BOOL,
        Kind.CONVERSION,
        'x as a bool: a number is true unless 0; a string must be "true", "false", "t", '
        '"f", "1", "0" (also "TRUE", "True", "T", ...), else no value.',
        'alert(bool(up) == false, ==, true, message="{host} is down")',
    ),
    Function(
        "duration",
        (
            Param("x", NUMERIC),
            Param("unit", Type.DURATION, _Dur(1_000_000_000, "1s"), const=True),
        ),
        Type.DURATION,
        Kind.CONVERSION,
        "`x` units as a duration, e.g. a field of seconds: duration(lag_s) or "
        "duration(lag_ms, 1ms).",
        "alert(now() - time(), >, duration(max_lag, 1m))",
    ),
    Function(
        "if",
        (
            Param("cond", Type.BOOL),
            Param("then", SCALAR, doc="the value where `cond` is true"),
            Param("else", SCALAR, doc="the value where `cond` is false, of the same type"),
        ),
        SCALAR,
        Kind.CONVERSION,
        "`then` where `cond` is true, else `else`. Only the chosen value needs to exist: a "
        "field missing from a point only matters on the side the point takes.",
        'alert(if(tag("tier") == "gold", latency, latency / 2), >, 100)',
    ),
    Function(
        "contains",
        (Param("s", Type.STRING), Param("sub", Type.STRING)),
        Type.BOOL,
        Kind.STRING,
        "Whether `sub` occurs in `s`.",
        'alert(contains(tag("host"), "prod") and value > 90, ==, true)',
    ),
    Function(
        "has_prefix",
        (Param("s", Type.STRING), Param("prefix", Type.STRING)),
        Type.BOOL,
        Kind.STRING,
        "Whether `s` starts with `prefix`.",
        'alert(has_prefix(tag("host"), "web") and value > 90, ==, true)',
        ("prefix",),
    ),
    Function(
        "has_suffix",
        (Param("s", Type.STRING), Param("suffix", Type.STRING)),
        Type.BOOL,
        Kind.STRING,
        "Whether `s` ends with `suffix`.",
        'alert(has_suffix(tag("host"), ".eu") and value > 90, ==, true)',
        ("suffix",),
    ),
    Function(
        "replace",
        (Param("s", Type.STRING), Param("old", Type.STRING), Param("new", Type.STRING)),
        Type.STRING,
        Kind.STRING,
        "`s` with every occurrence of `old` replaced by `new` (an empty `old` inserts `new` "
        "between every character).",
        'alert(replace(status, "-", "_") == "not_ready", ==, true)',
    ),
    Function(
        "regex_match",
        (Param("s", Type.STRING), Param("re", Type.REGEX, const=True)),
        Type.BOOL,
        Kind.STRING,
        "Whether `re` matches anywhere in `s`: the same as `s =~ re`.",
        'alert(regex_match(tag("host"), /^db-\\d+$/) and value > 90, ==, true)',
    ),
    Function(
        "length",
        (Param("s", Type.STRING),),
        Type.INT,
        Kind.STRING,
        "The number of characters (Unicode code points) of `s`.",
        "alert(length(message), >, 200)",
        ("strlen",),
    ),
    Function(
        "lower",
        (Param("s", Type.STRING),),
        Type.STRING,
        Kind.STRING,
        "`s` in lower case.",
        'alert(lower(status) == "down", ==, true)',
        ("to_lower",),
    ),
    Function(
        "upper",
        (Param("s", Type.STRING),),
        Type.STRING,
        Kind.STRING,
        "`s` in upper case.",
        'alert(upper(tag("dc")) == "EU1" and value > 90, ==, true)',
        ("to_upper",),
    ),
    Function(
        "trim",
        (Param("s", Type.STRING),),
        Type.STRING,
        Kind.STRING,
        "`s` without leading and trailing white space.",
        'alert(trim(state) == "failed", ==, true)',
        ("trim_space",),
    ),
    Function(
        "trim_prefix",
        (Param("s", Type.STRING), Param("prefix", Type.STRING)),
        Type.STRING,
        Kind.STRING,
        "`s` without `prefix` if it starts with it, else `s`.",
        'alert(trim_prefix(tag("host"), "web-") == "01", ==, true)',
    ),
    Function(
        "trim_suffix",
        (Param("s", Type.STRING), Param("suffix", Type.STRING)),
        Type.STRING,
        Kind.STRING,
        "`s` without `suffix` if it ends with it, else `s`.",
        'alert(trim_suffix(tag("host"), ".example.com") == "db1", ==, true)',
    ),
    Function(
        "substring",
        (Param("s", Type.STRING), Param("start", NUMERIC), Param("stop", NUMERIC, None)),
        Type.STRING,
        Kind.STRING,
        "The characters of `s` from index `start` (0-based, counted in characters) up to, "
        "not including, `stop` (none: to the end); indexes past the end are clamped. No value "
        "for a negative index or `stop` < `start`.",
        'alert(substring(tag("host"), 0, 3) == "web", ==, true)',
    ),
    Function(
        "index_of",
        (Param("s", Type.STRING), Param("sub", Type.STRING)),
        Type.INT,
        Kind.STRING,
        "The index (in characters) of the first occurrence of `sub` in `s`, or -1.",
        'alert(index_of(path, "/tmp") == 0, ==, true)',
    ),
    Function(
        "regex_replace",
        (
            Param("s", Type.STRING),
            Param("re", Type.REGEX, const=True),
            Param("replacement", Type.STRING),
        ),
        Type.STRING,
        Kind.STRING,
        "`s` with every match of `re` replaced by `replacement`, where `$1` or `${1}` "
        "(`${name}` for a named group) stands for a group, as in Kapacitor's regexReplace "
        "(whose arguments come in the order re, s, replacement); `$$` is a `$`.",
        'alert(regex_replace(tag("host"), /^(\\w+)-\\d+$/, "$1") == "web", ==, true)',
    ),
    Function(
        "human_bytes",
        (Param("n", NUMERIC),),
        Type.STRING,
        Kind.STRING,
        'A number of bytes for people, in SI units as Kapacitor\'s humanBytes: "512 B", '
        '"1.5 kB", "82 MB" (one decimal below 10 of a unit).',
        'alert(free < 1e9, ==, true, message="{host}: " + human_bytes(free) + " free")',
    ),
    Function(
        "hour",
        (Param("t", Type.TIME), _TZ),
        Type.INT,
        Kind.TIME,
        "The hour of `t`, 0 to 23, in UTC or in the time zone `tz`.",
        "alert(value > 90 and hour(time()) >= 8, ==, true)",
    ),
    Function(
        "minute",
        (Param("t", Type.TIME), _TZ),
        Type.INT,
        Kind.TIME,
        "The minute of `t`, 0 to 59, in UTC or in the time zone `tz`.",
        "alert(minute(time()) == 0 and value > 90, ==, true)",
    ),
    Function(
        "weekday",
        (Param("t", Type.TIME), _TZ),
        Type.INT,
        Kind.TIME,
        "The day of the week of `t`, 0 (Sunday) to 6 (Saturday) as in Kapacitor, in UTC or "
        "in the time zone `tz`.",
        "alert(weekday(time()) >= 1 and weekday(time()) <= 5 and value > 90, ==, true)",
    ),
    Function(
        "day",
        (Param("t", Type.TIME), _TZ),
        Type.INT,
        Kind.TIME,
        "The day of the month of `t`, 1 to 31, in UTC or in the time zone `tz`.",
        "alert(day(time()) == 1 and value > 90, ==, true)",
    ),
    Function(
        "month",
        (Param("t", Type.TIME), _TZ),
        Type.INT,
        Kind.TIME,
        "The month of `t`, 1 to 12, in UTC or in the time zone `tz`.",
        "alert(month(time()) == 12 and value > 90, ==, true)",
    ),
    Function(
        "year",
        (Param("t", Type.TIME), _TZ),
        Type.INT,
        Kind.TIME,
        "The year of `t`, in UTC or in the time zone `tz`.",
        "alert(year(time()) < 2020, ==, true)",
    ),
    Function(
        "unix_nano",
        (Param("t", Type.TIME),),
        Type.INT,
        Kind.TIME,
        "`t` as nanoseconds since 1970-01-01 UTC (times compute as 64-bit floats: exact to "
        "about a microsecond).",
        "alert(unix_nano(now()) - unix_nano(time()), >, 30e9)",
    ),
    Function(
        "is_present",
        (Param("field", FIELD_TYPES, doc="a field name (a bare name or field(...))"),),
        Type.BOOL,
        Kind.POINT,
        "Whether the point has the field, of any type. Never makes the point skipped.",
        "alert(is_present(error), ==, true)",
    ),
    Function(
        "default",
        (
            Param("field", FIELD_TYPES, doc="a field name (a bare name or field(...))"),
            Param("value", NUMERIC | Type.STRING | Type.BOOL, doc="decides the field's type"),
        ),
        FIELD_TYPES,
        Kind.POINT,
        "The field's value, or `value` on points that lack the field (or hold it as another "
        "type); such points are not skipped.",
        "alert(default(errors, 0), >, 10)",
    ),
    *_STREAM,
    Function(
        "tag",
        (Param("name", Type.STRING, const=True),),
        Type.STRING,
        Kind.POINT,
        'The value of the point\'s tag `name`; "" when the point has no such tag.',
        'alert(value > 90 and tag("host") != "test", ==, true)',
    ),
    Function(
        "field",
        (Param("name", Type.STRING, const=True),),
        FIELD_TYPES,
        Kind.POINT,
        "The point's field `name`, for names that are not identifiers (or that a let "
        "shadows). Same rules as a bare field name.",
        'alert(field("disk used %"), >, 90)',
    ),
    Function(
        "time",
        (),
        Type.TIME,
        Kind.POINT,
        "The timestamp of the point.",
        'alert(now() - time(), >, 30s, message="points arrive late")',
    ),
    Function(
        "now",
        (),
        Type.TIME,
        Kind.POINT,
        "The time at which the point is processed (the engine's clock; in a replay, the "
        "replay's clock).",
        'alert(now() - time(), >, 30s, message="points arrive late")',
    ),
    Function(
        "alert",
        (
            Param("value", NUMERIC | Type.DURATION | Type.BOOL),
            Param("op", Type.OP, doc="one of < <= > >= == != (bools: == and != only)"),
            Param(
                "threshold",
                NUMERIC | Type.DURATION | Type.BOOL,
                doc="of the same kind as `value`",
            ),
            Param(
                "warn",
                NUMERIC | Type.DURATION | Type.BOOL,
                None,
                keyword_only=True,
                doc="a lower level, WARNING: its threshold (`alert(cpu, >, 90, warn=80)`); with "
                "a bool value, its condition (`alert(cpu > 90, ==, true, warn=cpu > 80)`)",
            ),
            Param(
                "info",
                NUMERIC | Type.DURATION | Type.BOOL,
                None,
                keyword_only=True,
                doc="a lower level still, INFO, given like `warn`",
            ),
            Param(
                "message",
                Type.STRING,
                None,
                keyword_only=True,
                doc='the alert\'s text: a template such as "{host} is idle" (placeholders: '
                "see Messages), or a string expression computed from the point that raised the "
                'event, e.g. "idle " + string(usage_idle); none, or an expression with no '
                "value for that point: a message naming the script, value and threshold",
            ),
            Param(
                "level",
                Type.STRING,
                "critical",
                keyword_only=True,
                const=True,
                doc='"info", "warning" or "critical" (any case)',
            ),
            _TOPIC,
            _ID,
            _DETAILS,
            _reset("reset", "the alert's own level"),
            _reset("warn_reset", "WARNING"),
            _reset("info_reset", "INFO"),
            Param(
                "state_changes_only",
                Type.BOOL | Type.DURATION,
                True,
                keyword_only=True,
                const=True,
                doc="true: an event only when the level changes; a duration such as 1h: "
                "also again every 1h (of point time) while the level stays raised; false: "
                "an event for every point evaluated while raised (Kapacitor's default)",
            ),
            Param(
                "no_recoveries",
                Type.BOOL,
                False,
                keyword_only=True,
                const=True,
                doc="true: recoveries (changes to OK) are recorded (`kapacitor alerts`) "
                "but sent to no handler",
            ),
            Param(
                "flapping_low",
                NUMERIC,
                None,
                keyword_only=True,
                const=True,
                doc="with `flapping_high`: flapping detection as Kapacitor's .flapping(); an "
                "alert whose weighted share of level changes over its last `history` "
                "evaluations rises above `flapping_high` is flapping and sends nothing until "
                "the share drops below `flapping_low` (both 0 to 1)",
            ),
            Param("flapping_high", NUMERIC, None, keyword_only=True, const=True),
            Param(
                "history",
                Type.INT,
                DEFAULT_HISTORY,
                keyword_only=True,
                const=True,
                doc="how many evaluations flapping detection weighs, >= 2",
            ),
            _CATEGORY,
            *_INHIBIT,
            _NOTIFY,
        ),
        Type.ALERT,
        Kind.ALERT,
        "Raise an alert, per series, when `value op threshold` becomes true, and recover "
        "it when it becomes false. With `warn=` / `info=` the alert has levels, as "
        "Kapacitor's .crit()/.warn()/.info(): each point takes the highest level whose "
        "condition holds, and every change of level is an event (CRITICAL to WARNING, "
        "WARNING to OK...). Only a statement can be an alert().",
        'alert(avg(window(cpu_idle, 10)), <, 10, warn=20, info=30, message="{host} {level}")',
    ),
    Function(
        "deadman",
        (
            Param("threshold", NUMERIC, const=True, doc="points per `interval`, >= 0"),
            Param("interval", Type.DURATION, const=True, doc="the length of a check, > 0"),
            Param(
                "message",
                Type.STRING,
                None,
                keyword_only=True,
                const=True,
                doc="the alert's text (same placeholders as alert()); none: a message naming "
                "the script, the count and the interval",
            ),
            Param(
                "level",
                Type.STRING,
                "critical",
                keyword_only=True,
                const=True,
                doc='"info", "warning" or "critical" (any case)',
            ),
            _TOPIC,
            _ID,
            _DETAILS,
            _CATEGORY,
            *_INHIBIT,
            _NOTIFY,
        ),
        Type.ALERT,
        Kind.ALERT,
        "Raise an alert, per series, when the series received `threshold` points or fewer "
        "during the last `interval` of the engine's clock (wall time; in a replay, the "
        "replay's clock); recover it as soon as more have arrived. Checked every "
        "`interval`; a series is only checked once it has been watched for a whole interval. "
        "Only a statement can be a deadman().",
        'deadman(0, 1m, message="{instance} sends no data")',
    ),
    Function(
        "handler",
        (
            Param(
                "kind",
                Type.STRING,
                const=True,
                doc="a topic handler kind (docs/alerts.md): log, post, tcp, exec, slack, "
                "email, pagerduty2, mqtt, ...",
            ),
            Param(
                "match",
                Type.STRING,
                None,
                keyword_only=True,
                const=True,
                doc="which events it sends, an expression over the event as a topic "
                "handler's `match` (none: all)",
            ),
        ),
        Type.HANDLER,
        Kind.ALERT,
        "A handler for alert()'s or deadman()'s `notify=`: the kind and, as named "
        "arguments, the kind's options as a topic handler file has them (`icon-emoji` is "
        'written `icon_emoji`; a duration `5s`; a list `["a@example.com"]`; a mapping as '
        'a list of "key: value" strings, `headers=["Authorization: Bearer x"]`). Checked '
        "when the script is defined, as `kapacitor define-topic-handler` checks a file.",
        'alert(cpu, >, 90, notify=handler("slack", channel="#ops"))',
        open_keywords=True,
    ),
    Function(
        "influxdb_out",
        (
            _OUT_VALUE,
            Param("db", Type.STRING, keyword_only=True, const=True, doc="the database"),
            Param(
                "rp",
                Type.STRING,
                "",
                keyword_only=True,
                const=True,
                doc="the retention policy (empty: the database's default)",
            ),
            _OUT_MEASUREMENT,
            _OUT_FIELD,
            _OUT_TAGS,
            Param(
                "cluster",
                Type.STRING,
                "",
                keyword_only=True,
                const=True,
                doc="the `[[influxdb]]` written to (empty: the default one)",
            ),
        ),
        Type.OUTPUT,
        Kind.OUTPUT,
        "Write the value to InfluxDB, a point per evaluated point (time and tags of the "
        "instance: its series' tags, or its --group-by tags), buffered and sent in "
        "batches; a failed write is retried, and what still fails after the last retry is "
        "dropped, counted (`output_dropped`) and logged. Only a statement can be an output.",
        'influxdb_out(avg(window(usage_idle, 1m, every=1m)), db="rollups", '
        'measurement="cpu_1m", field="idle")',
    ),
    Function(
        "http_out",
        (
            _OUT_VALUE,
            Param(
                "name",
                Type.STRING,
                const=True,
                doc="the endpoint: GET /kapacitor/v1/plugins/<plugin>/<name>",
            ),
            _OUT_FIELD,
        ),
        Type.OUTPUT,
        Kind.OUTPUT,
        "Serve each instance's latest value (with its time and tags) over HTTP, as "
        "Kapacitor's httpOut: `GET /kapacitor/v1/plugins/<plugin>/<name>` answers an "
        "InfluxDB-style JSON document with a series per instance. Several http_out() of one "
        "name with different `field=`s are one endpoint, a column each.",
        'http_out(avg(window(usage_idle, 10)), "idle", field="avg_idle")',
    ),
    Function(
        "publish",
        (
            _OUT_VALUE,
            Param("subject", Type.STRING, const=True, doc="the NATS subject"),
            _OUT_MEASUREMENT,
            _OUT_FIELD,
            _OUT_TAGS,
        ),
        Type.OUTPUT,
        Kind.OUTPUT,
        "Publish the values on a NATS subject of kapacitord's bus, as line protocol, a "
        "message per batch processed (core NATS: a subscriber that is not listening misses "
        "them). The subject may not be one of kapacitord's own (`kapacitor.` or `$`).",
        'publish(avg(window(value, 10)), "metrics.cpu_avg", measurement="cpu_avg")',
    ),
    Function(
        "loopback",
        (
            _OUT_VALUE,
            Param("db", Type.STRING, keyword_only=True, const=True, doc="the database"),
            Param(
                "rp",
                Type.STRING,
                DEFAULT_RP,
                keyword_only=True,
                const=True,
                doc="the retention policy",
            ),
            Param(
                "measurement",
                Type.STRING,
                keyword_only=True,
                const=True,
                doc="the measurement written (required: another plugin reads it with --from)",
            ),
            _OUT_FIELD,
            _OUT_TAGS,
        ),
        Type.OUTPUT,
        Kind.OUTPUT,
        "Write the values back into kapacitord's own stream, as a write to `db`/`rp` would, "
        "for other plugins to read (`--from` the measurement). A plugin whose loopback "
        "it would read itself (its --from, --db and --rp admit the points) is refused when "
        "defined.",
        'loopback(avg(window(value, 1m, every=1m)), db="telegraf", measurement="cpu_1m")',
    ),
)

# Every function once, in the reference's order (the engine's planner tables cover it).
REGISTRY: tuple[Function, ...] = _REGISTRY

# name -> every function called so, in registry order (min and max exist twice: an aggregate
# of a vector, and the scalar minimum of two or more numbers).
OVERLOADS: Mapping[str, tuple[Function, ...]] = {
    name: tuple(f for f in _REGISTRY if name in (f.name, *f.aliases))
    for fn in _REGISTRY
    for name in (fn.name, *fn.aliases)
}
FUNCTIONS: Mapping[str, Function] = {name: fns[0] for name, fns in OVERLOADS.items()}


def lookup(name: str, nargs: int | None = None) -> Function | None:
    """The function called `name` (or aliased so), or None. With `nargs` (the number of
    positional arguments of a call), the first overload that takes that many; the first
    overload when none does (so its signature explains the error)."""
    fns = OVERLOADS.get(name)
    if not fns:
        return None
    if nargs is not None:
        for fn in fns:
            required = sum(1 for p in fn.positional if p.required)
            if required <= nargs and (fn.variadic or nargs <= len(fn.positional)):
                return fn
    return fns[0]


def suggest(name: str, candidates: list[str] | None = None) -> str | None:
    """The closest name to a misspelt one (functions by default), if any is close enough.

    Edit distance counting a swap of two letters as one edit, so `agv` finds avg (where
    difflib alone would as soon offer tag); ties go to difflib's similarity.
    """
    pool = list(FUNCTIONS) if candidates is None else candidates
    limit = max(1, len(name) // 3)
    scored = [(_distance(name.lower(), c.lower()), c) for c in pool]
    close = [(d, c) for d, c in scored if d <= limit]
    if not close:
        return None
    ratio = {c: difflib.SequenceMatcher(None, name, c).ratio() for _, c in close}
    return min(close, key=lambda dc: (dc[0], -ratio[dc[1]]))[1]


def _distance(a: str, b: str) -> int:
    """Optimal string alignment distance (Levenshtein plus adjacent transpositions)."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            row[j] = min(rows[i - 1][j] + 1, row[j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[i - 2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def markdown() -> str:
    """The function reference section of docs/language.md."""
    out: list[str] = []
    for kind in Kind:
        out.append(f"### {kind.value}\n")
        for fn in _REGISTRY:
            if fn.kind is not kind:
                continue
            out.append(f"#### `{fn.name}`\n")
            out.append(f"```\n{fn.signature()}\n```\n")
            if fn.aliases:
                out.append("Alias: " + ", ".join(f"`{a}`" for a in fn.aliases) + ".\n")
            out.append(fn.doc + "\n")
            documented = [p for p in fn.params if p.doc]
            if documented:
                out.append("\n".join(f"- `{p.name}`: {p.doc}" for p in documented) + "\n")
            out.append(f"Example: `{fn.example}`\n")
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(markdown())
