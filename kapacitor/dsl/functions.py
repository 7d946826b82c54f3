"""The registry of the language's functions: signatures and documentation, no implementations.

One `Function` entry per function (aliases share it). The checker validates calls against it;
the engine looks a call's function up here (or gets it, already bound, from
`CheckedScript.call(node)`) and implements it under its canonical `name`. Adding a function is
adding one entry to `_REGISTRY`; docs/language.md embeds `markdown()` (a test keeps them equal).

`python -m kapacitor.dsl.functions` prints that markdown.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Final

from kapacitor.dsl.types import FIELD_TYPES, NUMERIC, Type, type_name


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
    MATH = "Math (scalar -> float)"
    POINT = "Reading the point"
    ALERT = "Alerts"


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    params: tuple[Param, ...]
    returns: Type  # for field(): FIELD_TYPES, i.e. whatever the field holds
    kind: Kind
    doc: str
    example: str
    aliases: tuple[str, ...] = ()

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    @property
    def positional(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if not p.keyword_only)

    def signature(self) -> str:
        """`window(x: number, size: int | duration, *, every: int | duration = none, ...)`."""
        parts = [str(p) for p in self.positional]
        named = [str(p) for p in self.params if p.keyword_only]
        if named:
            parts += ["*", *named]
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

_V = Param("v", Type.VECTOR)


def _aggregate(name: str, doc: str, returns: Type = Type.FLOAT, *aliases: str) -> Function:
    example = f"alert({name}(window(value, 5m)), >, 90)"
    return Function(name, (_V,), returns, Kind.AGGREGATE, doc, example, aliases)


def _math(name: str, doc: str, example: str) -> Function:
    return Function(name, (Param("x", NUMERIC),), Type.FLOAT, Kind.MATH, doc, example)


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
                "of the same kind as `size`; none: after every point",
            ),
            Param(
                "align",
                Type.BOOL,
                False,
                keyword_only=True,
                const=True,
                doc="time windows only: start windows at multiples of `size` since the epoch "
                "instead of at the first point",
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
    _math("abs", "The absolute value.", "alert(abs(value - 20), >, 5)"),
    _math("sqrt", "The square root; no value for a negative x.", "alert(sqrt(value), >, 3)"),
    _math("floor", "The largest integral value <= x.", "alert(floor(value), ==, 0)"),
    _math("ceil", "The smallest integral value >= x.", "alert(ceil(value), >=, 1)"),
    _math(
        "round",
        "x rounded to the nearest integer, halves away from zero.",
        "alert(round(value), >, 3)",
    ),
    Function(
        "tag",
        (Param("name", Type.STRING, const=True),),
        Type.STRING,
        Kind.POINT,
        'The value of the point\'s tag `name`; "" when the point has no such tag.',
        'alert(value, >, 90, message="high on " + tag("host"))',
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
            Param("value", NUMERIC | Type.DURATION),
            Param("op", Type.OP, doc="one of < <= > >= == !="),
            Param("threshold", NUMERIC | Type.DURATION, doc="of the same kind as `value`"),
            Param(
                "message",
                Type.STRING,
                None,
                keyword_only=True,
                doc="the alert's text; none: a message naming the script, value and threshold",
            ),
            Param(
                "level",
                Type.STRING,
                "critical",
                keyword_only=True,
                const=True,
                doc='"info", "warning" or "critical" (any case)',
            ),
        ),
        Type.ALERT,
        Kind.ALERT,
        "Raise an alert, per series, when `value op threshold` becomes true, and recover "
        "it when it becomes false. Only a statement can be an alert().",
        'alert(avg(window(cpu_idle, 10)), <, 30, message="cpu busy", level="warning")',
    ),
)

FUNCTIONS: Mapping[str, Function] = {
    name: fn for fn in _REGISTRY for name in (fn.name, *fn.aliases)
}


def lookup(name: str) -> Function | None:
    """The function called `name` (or aliased so), or None."""
    return FUNCTIONS.get(name)


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
