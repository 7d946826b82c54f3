"""The planner's vocabulary: column kinds, the core operators, and the Protocols that family
modules (scalar.py, stream.py, vecfuncs.py, deadman.py, shift.py, forecast.py) plan against.

A leaf: it imports no planner and no family module, so each family imports it and plan.py
imports the families without a cycle. Each family exports `PLANNERS`, a table from registry
function (dsl/functions.py) to `CallPlanner`; plan.py merges the tables and dispatches each
call by the function the checker bound it to.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol, Self

from kapacitor.alerting.flapping import FlapRule
from kapacitor.dsl.ast import Call, Duration, Expr, String
from kapacitor.dsl.check import BoundCall, CheckedScript
from kapacitor.dsl.functions import Function
from kapacitor.dsl.tokens import format_ns
from kapacitor.engine.alert import Stepping

# What a field is read as (FieldOp.type), as the checker decided from the script's uses.
NUMBER, STRING, BOOL = "number", "string", "bool"


class Kind(Enum):
    """What a column holds: a number, a truth value (1.0/0.0) or a window of numbers."""

    NUM = "number"
    BOOL = "bool"
    VEC = "window"
    STR = "string"  # a Text column (columns.py)


def field_kind(ftype: str) -> Kind:
    """The kind of the column of a field read as `ftype`."""
    return {NUMBER: Kind.NUM, STRING: Kind.STR, BOOL: Kind.BOOL}[ftype]


def fmt_number(v: float) -> str:
    """A number as a user wrote it: 30 rather than 30.0, 27.5 as is."""
    if v == v and abs(v) < 1e15 and float(v).is_integer():
        return str(int(v))
    return repr(float(v))


class Operator(Protocol):
    """One planned operator: it produces one column from the columns `inputs()`."""

    def inputs(self) -> tuple[int, ...]: ...

    def remap(self, f: Callable[[int], int]) -> Self:
        """The operator reading column `f(i)` for each input `i` (after dead ones are dropped)."""
        ...

    def describe(self) -> str:
        """The operator as the printed plan shows it."""
        ...


class PlanContext(Protocol):
    """What a function's planner may ask of the planner planning the script."""

    @property
    def checked(self) -> CheckedScript:
        """The script being planned, with the checker's facts about its nodes."""
        ...

    def emit(self, op: Operator, kind: Kind | None) -> int:
        """The column of `op` (an identical operator planned before is shared)."""
        ...

    def kind(self, col: int) -> Kind: ...

    def op(self, col: int) -> Operator:
        """The operator producing column `col`."""
        ...

    def expr(self, node: Expr) -> int:
        """The column of an expression of the script."""
        ...

    def scalar(self, node: Expr, *allowed: Kind) -> int:
        """The column of an expression the checker has typed as one of `allowed`."""
        ...

    def field(self, name: str) -> int:
        """The column of the point field `name`, read as what the checker decided it is."""
        ...

    def field_type(self, name: str) -> str:
        """What field `name` is used as: "number", "string" or "bool"."""
        ...


# Plans one call (its bound arguments are `call.args`); returns the call's column.
CallPlanner = Callable[[PlanContext, Call, BoundCall], int]
# A family's planners, by the registry function each plans (dsl/functions.py).
Planners = Mapping[Function, CallPlanner]


def number(checked: CheckedScript, node: Expr) -> float | None:
    """A constant number, bool or duration as the engine's float64, else None."""
    value = checked.constant(node)
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    return None


def duration_text(checked: CheckedScript, node: Expr) -> str:
    """A constant duration as the plan prints it: as written for a literal, else canonical."""
    if isinstance(node, Duration) and node.text:
        return node.text
    ns = checked.constant(node)
    assert isinstance(ns, int), node
    return format_ns(ns)


@dataclass(frozen=True, slots=True)
class FieldOp:
    name: str
    type: str = "number"  # or "string", "bool": what the checker decided the field is used as

    def inputs(self) -> tuple[int, ...]:
        return ()

    def remap(self, f: Callable[[int], int]) -> FieldOp:
        return self

    def describe(self) -> str:
        return f"field {self.name}" + ("" if self.type == "number" else f" as {self.type}")


@dataclass(frozen=True, slots=True)
class ConstOp:
    value: float
    boolean: bool = False

    def inputs(self) -> tuple[int, ...]:
        return ()

    def remap(self, f: Callable[[int], int]) -> ConstOp:
        return self

    def describe(self) -> str:
        if self.boolean:
            return "const " + ("true" if self.value else "false")
        return f"const {fmt_number(self.value)}"


@dataclass(frozen=True, slots=True)
class UnaryOp:
    op: str
    arg: int

    def inputs(self) -> tuple[int, ...]:
        return (self.arg,)

    def remap(self, f: Callable[[int], int]) -> UnaryOp:
        return dataclasses.replace(self, arg=f(self.arg))

    def describe(self) -> str:
        return f"unary {self.op} %{self.arg}"


# The functions MathOp computes (the other math functions are FuncOps, scalar.py).
MATH_FUNCTIONS = ("abs", "sqrt", "floor", "ceil", "round")


@dataclass(frozen=True, slots=True)
class MathOp:
    """abs, sqrt, floor, ceil, round of a number; sqrt of a negative yields no value."""

    func: str
    arg: int

    def inputs(self) -> tuple[int, ...]:
        return (self.arg,)

    def remap(self, f: Callable[[int], int]) -> MathOp:
        return dataclasses.replace(self, arg=f(self.arg))

    def describe(self) -> str:
        return f"math.{self.func} %{self.arg}"


@dataclass(frozen=True, slots=True)
class TimeOp:
    """`time()`: the point's timestamp in ns; `now()`: the runtime clock's time per batch."""

    now: bool = False

    def inputs(self) -> tuple[int, ...]:
        return ()

    def remap(self, f: Callable[[int], int]) -> TimeOp:
        return self

    def describe(self) -> str:
        return "now" if self.now else "time"


@dataclass(frozen=True, slots=True)
class BinaryOp:
    op: str
    left: int
    right: int

    def inputs(self) -> tuple[int, ...]:
        return (self.left, self.right)

    def remap(self, f: Callable[[int], int]) -> BinaryOp:
        return dataclasses.replace(self, left=f(self.left), right=f(self.right))

    def describe(self) -> str:
        return f"binary {self.op} %{self.left} %{self.right}"


@dataclass(frozen=True, slots=True)
class CountWindowOp:
    arg: int
    n: int
    every: int | None = None  # emit on every `every`-th value (kapacitor/engine/hop.py)

    def inputs(self) -> tuple[int, ...]:
        return (self.arg,)

    def remap(self, f: Callable[[int], int]) -> CountWindowOp:
        return dataclasses.replace(self, arg=f(self.arg))

    def describe(self) -> str:
        tail = "" if self.every is None else f" every={self.every}"
        return f"window.count %{self.arg} n={self.n}{tail}"


@dataclass(frozen=True, slots=True)
class TimeWindowOp:
    arg: int
    span_ns: int
    text: str = dataclasses.field(compare=False, default="")
    every_ns: int | None = None  # emit at boundaries `every_ns` apart (kapacitor/engine/hop.py)
    align: bool = False  # boundaries at multiples of every_ns since the epoch
    every_text: str = dataclasses.field(compare=False, default="")

    def inputs(self) -> tuple[int, ...]:
        return (self.arg,)

    def remap(self, f: Callable[[int], int]) -> TimeWindowOp:
        return dataclasses.replace(self, arg=f(self.arg))

    def describe(self) -> str:
        text = f"window.time %{self.arg} span={self.text or str(self.span_ns) + 'ns'}"
        if self.every_ns is not None:
            text += f" every={self.every_text or str(self.every_ns) + 'ns'}"
        return text + (" align" if self.align else "")


@dataclass(frozen=True, slots=True)
class AggOp:
    func: str
    arg: int
    p: float | None = None

    def inputs(self) -> tuple[int, ...]:
        return (self.arg,)

    def remap(self, f: Callable[[int], int]) -> AggOp:
        return dataclasses.replace(self, arg=f(self.arg))

    def describe(self) -> str:
        tail = "" if self.p is None else f" p={fmt_number(self.p)}"
        return f"agg.{self.func} %{self.arg}{tail}"


def describe_topic(topic: str, notify: bool) -> str:
    text = " topic=" + str(String(topic)) if topic else ""
    return text + " notify" if notify else text


def describe_inhibit(category: str, tags: tuple[str, ...]) -> str:
    if not category:
        return ""
    return f" inhibit={String(category)}" + (f" by {','.join(tags)}" if tags else "")


def inhibit_options(checked: CheckedScript, args: Mapping[str, Expr]) -> dict[str, Any]:
    """inhibit= and inhibit_tags= of an alert() or deadman() (checked by alert_check)."""
    category = checked.constant(args["inhibit"]) if "inhibit" in args else ""
    tags = checked.constant(args["inhibit_tags"]) if "inhibit_tags" in args else ""
    assert isinstance(category, str) and isinstance(tags, str)
    return {
        "inhibit": category,
        "inhibit_tags": tuple(sorted({t.strip() for t in tags.split(",") if t.strip()})),
    }


@dataclass(frozen=True, slots=True)
class LowerLevel:
    """A level below an alert's own: `level` with a literal `value` or the column `col`."""

    level: str
    value: float | None
    col: int | None
    reset: bool = False  # the reset condition of `level` (reset=, warn_reset=, info_reset=)

    def describe(self) -> str:
        name = {"WARNING": "warn", "INFO": "info"}.get(self.level, "")
        if self.reset:
            name = f"{name}_reset" if name else "reset"
        if self.col is not None:
            return f"{name}=%{self.col}"
        return f"{name}={fmt_number(self.value if self.value is not None else 0.0)}"


@dataclass(frozen=True, slots=True)
class AlertOp:
    """`alert(value, op, threshold)`; `threshold` is a literal number or a column id; the
    message a literal template, or a string column computed per point (`message_col`)."""

    index: int
    value: int
    op: str
    threshold: float | None
    threshold_col: int | None
    level: str
    message: str | None
    message_col: int | None = None
    # Lower levels (warn=, info=), ascending. Of a number or duration alert they hold
    # thresholds for `value`; of a bool alert, conditions compared with `threshold`.
    lower: tuple[LowerLevel, ...] = ()
    boolean: bool = False
    topic: str = ""  # "": the plugin's own handlers only
    # Conditions that must hold before a level may drop (LowerLevel.reset), given like `lower`.
    resets: tuple[LowerLevel, ...] = ()
    id_template: str | None = None
    details: str | None = None
    changes_only: bool = True  # False: an event for every evaluation while raised
    renotify_ns: int = 0  # with changes_only: again after this long raised (0: never)
    no_recoveries: bool = False
    flapping: tuple[float, float, int] | None = None  # low, high, history
    category: str = ""
    inhibit: str = ""  # the category its raised instances hold back
    inhibit_tags: tuple[str, ...] = ()  # ...in events sharing these tags with the instance
    # Has handlers from the script (notify=): without a topic=, its events go to its own
    # topic, named when the plugin's runtime is made (Program.for_plugin).
    notify: bool = False

    @property
    def stepwise(self) -> bool:
        """Whether each evaluation depends on the one before beyond its level (resets,
        flapping, re-notifying, every evaluation an event): evaluated row by row."""
        return (
            bool(self.resets)
            or self.flapping is not None
            or self.renotify_ns > 0
            or (not self.changes_only)
        )

    def stepping(self) -> Stepping | None:
        """How its state steps when `stepwise` (None: level changes only, vectorized)."""
        if not self.stepwise:
            return None
        flap = None if self.flapping is None else FlapRule(*self.flapping)
        return Stepping(self.changes_only, self.renotify_ns, flap)

    def inputs(self) -> tuple[int, ...]:
        levels = (*self.lower, *self.resets)
        cols = (self.value, self.threshold_col, self.message_col, *(lv.col for lv in levels))
        return tuple(c for c in cols if c is not None)

    def remap(self, f: Callable[[int], int]) -> AlertOp:
        def opt(col: int | None) -> int | None:
            return None if col is None else f(col)

        return dataclasses.replace(
            self,
            value=f(self.value),
            threshold_col=opt(self.threshold_col),
            message_col=opt(self.message_col),
            lower=tuple(dataclasses.replace(lv, col=opt(lv.col)) for lv in self.lower),
            resets=tuple(dataclasses.replace(lv, col=opt(lv.col)) for lv in self.resets),
        )

    def describe(self) -> str:
        if self.threshold_col is not None:
            thr = f"%{self.threshold_col}"
        else:
            thr = fmt_number(self.threshold if self.threshold is not None else 0.0)
        text = f"alert %{self.value} {self.op} {thr} level={self.level}"
        for lv in reversed(self.lower):
            text += f" {lv.describe()}"
        if self.message is not None:
            text += " message=" + str(String(self.message))
        if self.message_col is not None:
            text += f" message=%{self.message_col}"
        text += describe_topic(self.topic, self.notify)
        for lv in self.resets:
            text += f" {lv.describe()}"
        for name, given in (("id", self.id_template), ("details", self.details)):
            if given is not None:
                text += f" {name}=" + str(String(given))
        if self.renotify_ns:
            text += f" state_changes_only={format_ns(self.renotify_ns)}"
        elif not self.changes_only:
            text += " state_changes_only=false"
        if self.no_recoveries:
            text += " no_recoveries=true"
        if self.flapping is not None:
            low, high, history = self.flapping
            text += f" flapping={fmt_number(low)}..{fmt_number(high)}/{history}"
        if self.category:
            text += " category=" + str(String(self.category))
        return text + describe_inhibit(self.inhibit, self.inhibit_tags)
