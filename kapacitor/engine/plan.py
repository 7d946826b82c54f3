"""Planning: a checked syntax tree becomes a flat list of column operators.

Each operator produces one column (`%i`) from earlier columns. Identical sub-expressions are
planned once (so `avg(w) + max(w)` shares one window), `let` names a column, and operators that
no `alert` depends on are dropped, so an unused `let` neither costs time nor makes rows that
lack its fields get skipped.

    %0 = field usage_idle
    %1 = window.count %0 n=10
    %2 = agg.avg %1
    %3 = alert %2 < 30 level=CRITICAL
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from kapacitor.dsl.ast import (
    Binary,
    Bool,
    Call,
    Duration,
    Expr,
    Ident,
    Keyword,
    Let,
    Node,
    Number,
    OpRef,
    Regex,
    Script,
    String,
    Unary,
)
from kapacitor.dsl.check import CheckedScript
from kapacitor.engine import scalar as scalar_fns
from kapacitor.engine.alert import RAISED_LEVELS, level_option
from kapacitor.engine.deadman import DeadmanOp, plan_deadman
from kapacitor.engine.forecast import ForecastOp, plan_forecast
from kapacitor.engine.scalar import FuncOp
from kapacitor.engine.shift import ShiftOp, plan_shift
from kapacitor.engine.stream import STREAM_FUNCTIONS, StreamOp, plan_stream
from kapacitor.engine.vecfuncs import VECTOR_FUNCTIONS, VecOp, plan_vector
from kapacitor.errors import DslTypeError


class Kind(Enum):
    """What a column holds: a number, a truth value (1.0/0.0) or a window of numbers."""

    NUM = "number"
    BOOL = "bool"
    VEC = "window"
    STR = "string"  # a Text column (columns.py)


AGGREGATES = (
    "avg",
    "sum",
    "count",
    "min",
    "max",
    "first",
    "last",
    "median",
    "spread",
    "stddev",
    "percentile",
    "mode",
)
_AGG_ALIASES = {"mean": "avg"}
ARITHMETIC = ("+", "-", "*", "/", "%")
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
LOGICAL = ("and", "or")
MATH = ("abs", "sqrt", "floor", "ceil", "round")


def fmt_number(v: float) -> str:
    """A number as a user wrote it: 30 rather than 30.0, 27.5 as is."""
    if v == v and abs(v) < 1e15 and float(v).is_integer():
        return str(int(v))
    return repr(float(v))


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


@dataclass(frozen=True, slots=True)
class LowerLevel:
    """A level below an alert's own: `level` with a literal `value` or the column `col`."""

    level: str
    value: float | None
    col: int | None

    def describe(self) -> str:
        name = "warn" if self.level == "WARNING" else "info"
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

    def inputs(self) -> tuple[int, ...]:
        cols = (self.value, self.threshold_col, self.message_col, *(lv.col for lv in self.lower))
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
        return text


Op = (
    FieldOp
    | ConstOp
    | UnaryOp
    | MathOp
    | TimeOp
    | BinaryOp
    | CountWindowOp
    | TimeWindowOp
    | AggOp
    | AlertOp
    | FuncOp
    | StreamOp
    | VecOp
    | DeadmanOp
    | ShiftOp
    | ForecastOp
)


@dataclass(frozen=True, slots=True)
class Program:
    """A planned script: operators in evaluation order; `ops[i]` produces column `%i`."""

    ops: tuple[Op, ...]
    kinds: tuple[Kind | None, ...]
    names: tuple[tuple[str, ...], ...] = ()

    @property
    def fields(self) -> tuple[str, ...]:
        """Fields every processed row must carry as numbers."""
        return tuple(op.name for op in self.ops if isinstance(op, FieldOp))

    @property
    def alerts(self) -> tuple[AlertOp, ...]:
        return tuple(op for op in self.ops if isinstance(op, AlertOp))

    @property
    def deadmen(self) -> tuple[DeadmanOp, ...]:
        return tuple(op for op in self.ops if isinstance(op, DeadmanOp))

    @property
    def outputs(self) -> int:
        """The number of alert() and deadman() statements (ids get `#k` when above 1)."""
        return sum(1 for op in self.ops if isinstance(op, AlertOp | DeadmanOp))

    @property
    def has_time_window(self) -> bool:
        """Whether late rows are dropped: time windows and time-reading stream functions."""
        return any(
            isinstance(op, TimeWindowOp) or (isinstance(op, StreamOp | ShiftOp) and op.timed)
            for op in self.ops
        )

    def __str__(self) -> str:
        lines = []
        for i, op in enumerate(self.ops):
            line = f"%{i} = {op.describe()}"
            if self.names and self.names[i]:
                line += "  # let " + ", ".join(self.names[i])
            lines.append(line)
        return "\n".join(lines)


def _literal_number(node: Expr) -> float | None:
    """A number, bool or duration literal as the engine's float64, else None."""
    if isinstance(node, Number) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, Bool):
        return 1.0 if node.value else 0.0
    if isinstance(node, Duration):
        return float(node.ns)
    return None


def _err(node: Node, message: str) -> DslTypeError:
    return DslTypeError(message, node.span)


class _Planner:
    def __init__(self) -> None:
        self.ops: list[Op] = []
        self.kinds: list[Kind | None] = []
        self.memo: dict[Op, int] = {}
        self.lets: dict[str, int] = {}
        self.names: dict[int, list[str]] = {}
        self.alert_count = 0
        self.field_types: dict[str, str] = {}  # field -> "string" | "bool" (else a number)

    def emit(self, op: Op, kind: Kind | None) -> int:
        if not isinstance(op, AlertOp) and op in self.memo:
            return self.memo[op]
        self.ops.append(op)
        self.kinds.append(kind)
        idx = len(self.ops) - 1
        if not isinstance(op, AlertOp):
            self.memo[op] = idx
        return idx

    def kind(self, col: int) -> Kind:
        k = self.kinds[col]
        assert k is not None
        return k

    def statement(self, stmt: Let | Expr) -> None:
        if isinstance(stmt, Let):
            if isinstance(stmt.value, Call) and stmt.value.name == "alert":
                raise _err(
                    stmt.value, "alert(...) cannot be bound with let; write it as a statement"
                )
            if isinstance(stmt.value, Regex):
                return  # folding wrote the regex in place at each use (dsl/fold.py)
            col = self.expr(stmt.value)
            self.lets[stmt.name] = col
            self.names.setdefault(col, []).append(stmt.name)
            return
        if isinstance(stmt, Call) and stmt.name == "alert":
            self.alert(stmt)
            return
        if isinstance(stmt, Call) and stmt.name == "deadman":
            self.emit(plan_deadman(stmt, self.alert_count), None)
            self.alert_count += 1
            return
        raise _err(stmt, f"statement {stmt} has no effect: only alert(...) produces output")

    def expr(self, node: Expr) -> int:
        if isinstance(node, Ident):
            if node.name in self.lets:
                return self.lets[node.name]
            return scalar_fns.field_column(self, node.name)
        if isinstance(node, Number):
            return self.emit(ConstOp(float(node.value)), Kind.NUM)
        if isinstance(node, Bool):
            return self.emit(ConstOp(1.0 if node.value else 0.0, boolean=True), Kind.BOOL)
        if isinstance(node, Duration):
            # Durations compute as nanoseconds: `now() - time() > 30s`.
            return self.emit(ConstOp(float(node.ns)), Kind.NUM)
        if isinstance(node, String):
            return scalar_fns.string_const(self, node.value)
        if isinstance(node, Unary):
            return self.unary(node)
        if isinstance(node, Binary):
            return self.binary(node)
        if isinstance(node, Call):
            return self.call(node)
        what = {
            String: "a string",
            Regex: "a regex",
            OpRef: "an operator",
        }.get(type(node), type(node).__name__)
        raise _err(node, f"{what} ({node}) is not allowed here")

    def scalar(self, node: Expr, *allowed: Kind) -> int:
        col = self.expr(node)
        kind = self.kind(col)
        if kind not in allowed:
            want = " or ".join(k.value for k in allowed)
            raise _err(node, f"expected a {want}, got a {kind.value}: {node}")
        return col

    def unary(self, node: Unary) -> int:
        if node.op == "-":
            return self.emit(UnaryOp("-", self.scalar(node.operand, Kind.NUM)), Kind.NUM)
        if node.op == "not":
            return self.emit(UnaryOp("not", self.scalar(node.operand, Kind.BOOL)), Kind.BOOL)
        raise _err(node, f"unknown unary operator {node.op!r}")

    def binary(self, node: Binary) -> int:
        op = node.op
        text = scalar_fns.plan_binary(self, node)  # strings: ==, <, +, =~ ...
        if text is not None:
            return text
        if op in ARITHMETIC:
            left = self.scalar(node.left, Kind.NUM)
            right = self.scalar(node.right, Kind.NUM)
            return self.emit(BinaryOp(op, left, right), Kind.NUM)
        if op in COMPARISONS:
            left = self.scalar(node.left, Kind.NUM, Kind.BOOL)
            right = self.scalar(node.right, Kind.NUM, Kind.BOOL)
            if self.kind(left) is not self.kind(right):
                raise _err(
                    node,
                    f"cannot compare a {self.kind(left).value} with a "
                    f"{self.kind(right).value}: {node}",
                )
            if self.kind(left) is Kind.BOOL and op not in ("==", "!="):
                raise _err(node, f"truth values can only be compared with == or !=: {node}")
            return self.emit(BinaryOp(op, left, right), Kind.BOOL)
        if op in LOGICAL:
            left = self.scalar(node.left, Kind.BOOL)
            right = self.scalar(node.right, Kind.BOOL)
            return self.emit(BinaryOp(op, left, right), Kind.BOOL)
        raise _err(node, f"unknown operator {op!r}")

    def call(self, node: Call) -> int:
        name = _AGG_ALIASES.get(node.name, node.name)
        if scalar_fns.handles(node):  # stateless functions: pow, contains, tag, hour, ...
            return scalar_fns.plan_call(self, node)
        if name == "window":
            return self.window(node)
        if name in AGGREGATES:
            return self.aggregate(node, name)
        if name in VECTOR_FUNCTIONS:
            return plan_vector(self, node, name)
        if name in MATH:
            self.no_options(node)
            self.arity(node, 1)
            return self.emit(MathOp(name, self.scalar(node.args[0], Kind.NUM)), Kind.NUM)
        if name in ("time", "now"):
            self.no_options(node)
            self.arity(node, 0)
            return self.emit(TimeOp(now=name == "now"), Kind.NUM)
        if name == "field":
            self.no_options(node)
            self.arity(node, 1)
            if not isinstance(node.args[0], String):
                raise _err(node.args[0], 'field() needs a string constant: field("disk used %")')
            return scalar_fns.field_column(self, node.args[0].value)
        if name in STREAM_FUNCTIONS:
            return plan_stream(self, node, name)
        if name == "shift":
            return plan_shift(self, node)
        if name == "holt_winters":
            return plan_forecast(self, node)
        if name == "alert":
            raise _err(node, "alert(...) must be a statement of its own, not part of an expression")
        known = ", ".join(sorted((*AGGREGATES, *MATH, "mean", "window", "alert", "field", "time")))
        raise _err(node, f"unknown function {node.name!r} (known: {known})")

    def no_options(self, node: Call) -> None:
        if node.kwargs:
            raise _err(node.kwargs[0], f"{node.name}() takes no options")

    def arity(self, node: Call, n: int) -> None:
        if len(node.args) != n:
            raise _err(node, f"{node.name}() takes {n} argument(s), got {len(node.args)}")

    def window(self, node: Call) -> int:
        every: Expr | None = None
        align = False
        for kw in node.kwargs:
            if kw.name == "every":
                every = kw.value
            elif kw.name == "align" and isinstance(kw.value, Bool):
                align = kw.value.value
            elif kw.name == "align":
                raise _err(kw.value, f"align= needs true or false, got {kw.value}")
            else:
                raise _err(kw, f"window() has no option {kw.name}= (known: every, align)")
        if len(node.args) != 2:
            raise _err(node, "window() takes 2 arguments: window(value, N) or window(value, 10s)")
        arg = self.scalar(node.args[0], Kind.NUM, Kind.BOOL)
        size = node.args[1]
        if isinstance(size, Number) and not isinstance(size.value, bool):
            if not isinstance(size.value, int) or size.value <= 0:
                raise _err(size, f"window size must be a whole number of points > 0, got {size}")
            if align:
                raise _err(node, "align= only applies to time windows (a duration size)")
            n_every: int | None = None
            if every is not None:
                if not isinstance(every, Number) or not isinstance(every.value, int):
                    raise _err(every, f"every= of a count window is a number of points: {every}")
                if isinstance(every.value, bool) or every.value <= 0:
                    raise _err(every, f"every= must be positive, got {every}")
                n_every = int(every.value)
            return self.emit(CountWindowOp(arg, int(size.value), n_every), Kind.VEC)
        if isinstance(size, Duration):
            if size.ns <= 0:
                raise _err(size, f"window span must be longer than 0, got {size}")
            if every is None:
                if not align:
                    return self.emit(TimeWindowOp(arg, size.ns, size.text), Kind.VEC)
                every = size  # aligned without every=: tumbling windows
            if not isinstance(every, Duration):
                raise _err(every, f"every= of a time window is a duration: {every}")
            if every.ns <= 0:
                raise _err(every, f"every= must be longer than 0, got {every}")
            op = TimeWindowOp(arg, size.ns, size.text, every.ns, align, every.text)
            return self.emit(op, Kind.VEC)
        raise _err(size, f"window size must be a point count or a duration, got {size}")

    def aggregate(self, node: Call, name: str) -> int:
        if node.kwargs:
            raise _err(node.kwargs[0], f"{node.name}() takes no options")
        want = 2 if name == "percentile" else 1
        if len(node.args) != want:
            usage = f"{node.name}(window(...), p)" if want == 2 else f"{node.name}(window(...))"
            raise _err(node, f"{node.name}() takes {want} argument(s): {usage}")
        arg = self.expr(node.args[0])
        if self.kind(arg) is not Kind.VEC:
            raise _err(
                node.args[0], f"{node.name}() needs a window, e.g. {node.name}(window(x, 10))"
            )
        p: float | None = None
        if name == "percentile":
            pn = node.args[1]
            if not isinstance(pn, Number) or isinstance(pn.value, bool) or not 0 <= pn.value <= 100:
                raise _err(pn, f"percentile needs a number between 0 and 100, got {pn}")
            p = float(pn.value)
        return self.emit(AggOp(name, arg, p), Kind.NUM)

    def alert(self, node: Call) -> None:
        if len(node.args) != 3:
            raise _err(node, "alert() takes 3 arguments: alert(value, <, threshold)")
        value_node, op_node, thr_node = node.args
        value = self.scalar(value_node, Kind.NUM, Kind.BOOL)
        if not isinstance(op_node, OpRef) or op_node.op not in COMPARISONS:
            raise _err(op_node, f"expected a comparison ({' '.join(COMPARISONS)}), got {op_node}")
        threshold = _literal_number(thr_node)
        threshold_col = None
        if threshold is None:
            threshold_col = self.scalar(thr_node, Kind.NUM, Kind.BOOL)
        level, message, message_col = "CRITICAL", None, None
        lower: list[LowerLevel] = []
        for kw in node.kwargs:
            if kw.name == "message" and isinstance(kw.value, String):
                message = kw.value.value
            elif kw.name == "message":
                message_col = self.scalar(kw.value, Kind.STR)
            elif kw.name in ("warn", "info"):
                literal = _literal_number(kw.value)
                col = None if literal is not None else self.scalar(kw.value, Kind.NUM, Kind.BOOL)
                lower.append(LowerLevel("WARNING" if kw.name == "warn" else "INFO", literal, col))
            else:
                level = self.alert_level(kw)
        if any(RAISED_LEVELS.index(lv.level) >= RAISED_LEVELS.index(level) for lv in lower):
            raise _err(node, f"warn=/info= must be below the alert's level {level}")
        lower.sort(key=lambda lv: RAISED_LEVELS.index(lv.level))
        op = AlertOp(
            self.alert_count,
            value,
            op_node.op,
            threshold,
            threshold_col,
            level,
            message,
            message_col,
            tuple(lower),
            self.kind(value) is Kind.BOOL,
        )
        self.emit(op, None)
        self.alert_count += 1

    def alert_level(self, kw: Keyword) -> str:
        if kw.name == "level":
            return level_option(kw.value)
        raise _err(kw, f"alert() has no option {kw.name}= (known: warn, info, message, level)")

    def finish(self) -> Program:
        """Drop operators no alert needs and renumber the rest, keeping their order."""
        live = [False] * len(self.ops)
        for i in range(len(self.ops) - 1, -1, -1):
            if isinstance(self.ops[i], AlertOp | DeadmanOp):
                live[i] = True
            if live[i]:
                for j in self.ops[i].inputs():
                    live[j] = True
        new_id: dict[int, int] = {}
        ops: list[Op] = []
        kinds: list[Kind | None] = []
        names: list[tuple[str, ...]] = []
        for i, op in enumerate(self.ops):
            if not live[i]:
                continue
            new_id[i] = len(ops)
            ops.append(op.remap(new_id.__getitem__))
            kinds.append(self.kinds[i])
            names.append(tuple(self.names.get(i, ())))
        return Program(tuple(ops), tuple(kinds), tuple(names))


def build_program(script: Script | CheckedScript) -> Program:
    """Plan `script`; raises DslTypeError (with the offending node's span) for what cannot run.

    A checked script is planned with its constants folded (`window(x, n)` for `let n = 10`);
    a bare syntax tree must spell constants as literals.
    """
    if isinstance(script, CheckedScript):
        script = script.folded()
    planner = _Planner()
    planner.field_types = scalar_fns.field_types(script)
    for stmt in script.statements:
        planner.statement(stmt)
    if planner.alert_count == 0:
        raise _err(script, "the script has no alert(...) statement, so it can never produce output")
    return planner.finish()
