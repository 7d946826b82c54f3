"""Planning: a checked script becomes a flat list of column operators.

Each operator produces one column (`%i`) from earlier columns. Identical sub-expressions are
planned once (so `avg(w) + max(w)` shares one window), `let` names a column, and operators that
no `alert` depends on are dropped, so an unused `let` neither costs time nor makes rows that
lack its fields get skipped.

    %0 = field usage_idle
    %1 = window.count %0 n=10
    %2 = agg.avg %1
    %3 = alert %2 < 30 level=CRITICAL

The planner trusts the checker: it plans the written tree, reading each call's bound
arguments, each constant's value and each field's type from the CheckedScript, so everything
the checker accepts plans. Functions are planned by table: the core ones here, the others by
their family module's `PLANNERS` (scalar.py, stream.py, vecfuncs.py, shift.py, forecast.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from kapacitor.alerting.flapping import DEFAULT_HISTORY
from kapacitor.alerting.names import anonymous_topic
from kapacitor.dsl.ast import Binary, Call, Expr, Ident, Let, Unary
from kapacitor.dsl.check import BoundCall, CheckedScript
from kapacitor.dsl.functions import FUNCTIONS, REGISTRY, Function
from kapacitor.dsl.functions import Kind as FnKind
from kapacitor.dsl.output_check import parse_tags
from kapacitor.dsl.types import Type
from kapacitor.engine import forecast, scalar, shift, stream, vecfuncs
from kapacitor.engine.aggregate import AGGREGATE_FUNCTIONS
from kapacitor.engine.alert import RAISED_LEVELS
from kapacitor.engine.deadman import DeadmanOp, plan_deadman
from kapacitor.engine.forecast import ForecastOp
from kapacitor.engine.ops import (
    BOOL,
    MATH_FUNCTIONS,
    NUMBER,
    STRING,
    AggOp,
    AlertOp,
    BinaryOp,
    CallPlanner,
    ConstOp,
    CountWindowOp,
    FieldOp,
    Kind,
    LowerLevel,
    MathOp,
    Operator,
    PlanContext,
    Planners,
    TimeOp,
    TimeWindowOp,
    UnaryOp,
    duration_text,
    field_kind,
    inhibit_options,
    number,
)
from kapacitor.engine.outputs import OutputOp
from kapacitor.engine.scalar import FuncOp
from kapacitor.engine.shift import ShiftOp
from kapacitor.engine.stream import StreamOp
from kapacitor.engine.vecfuncs import VecOp
from kapacitor.errors import DslTypeError

# Other modules import the core operators from here (runtime.py); they live in ops.py.
__all__ = ["ARITHMETIC", "COMPARISONS", "LOGICAL", "PLANNERS", "Op", "Program", "build_program"]

ARITHMETIC = ("+", "-", "*", "/", "%")
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
# alert() options that hold a level's threshold or condition: the level ("": the alert's own)
# and whether it is the condition for leaving that level (a reset).
LEVEL_OPTIONS = {
    "warn": ("WARNING", False),
    "info": ("INFO", False),
    "reset": ("", True),
    "warn_reset": ("WARNING", True),
    "info_reset": ("INFO", True),
}
LOGICAL = ("and", "or")

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
    | OutputOp
)
_OP_TYPES = Op.__args__  # what a family planner may emit


@dataclass(frozen=True, slots=True)
class Program:
    """A planned script: operators in evaluation order; `ops[i]` produces column `%i`."""

    ops: tuple[Op, ...]
    kinds: tuple[Kind | None, ...]
    names: tuple[tuple[str, ...], ...] = ()

    def for_plugin(self, plugin: str) -> Program:
        """This program as plugin `plugin` runs it: an output with handlers from the script and
        no topic= sends to its own topic (kapacitor.alerting.names.anonymous_topic)."""
        if not any(isinstance(op, AlertOp | DeadmanOp) and op.notify for op in self.ops):
            return self
        ops = tuple(
            dataclasses.replace(op, topic=anonymous_topic(plugin, op.index))
            if isinstance(op, AlertOp | DeadmanOp) and op.notify and not op.topic
            else op
            for op in self.ops
        )
        return dataclasses.replace(self, ops=ops)

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
    def inhibits(self) -> bool:
        """Whether an alert() or deadman() has inhibit=."""
        return any(op.inhibit for op in self.ops if isinstance(op, AlertOp | DeadmanOp))

    @property
    def outputs(self) -> tuple[OutputOp, ...]:
        """The output statements (influxdb_out() ...)."""
        return tuple(op for op in self.ops if isinstance(op, OutputOp))

    @property
    def alert_count(self) -> int:
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


def alert_options(checked: CheckedScript, args: Mapping[str, Expr]) -> dict[str, Any]:
    """The constant options of an alert() (AlertOp's fields), checked by alert_check."""

    def given(name: str, default: object = None) -> Any:
        return checked.constant(args[name]) if name in args else default

    changes_only = given("state_changes_only", True)  # true, false or a re-notify interval
    flapping = None
    if "flapping_low" in args:
        low, high = given("flapping_low"), given("flapping_high")
        flapping = (float(low), float(high), int(given("history", DEFAULT_HISTORY)))
    return {
        "topic": given("topic", ""),
        "id_template": given("id"),
        "details": given("details"),
        "changes_only": changes_only is not False,
        "renotify_ns": 0 if isinstance(changes_only, bool) else int(changes_only),
        "no_recoveries": given("no_recoveries", False) is True,
        "flapping": flapping,
        "category": given("category", ""),
        "notify": "notify" in args,
        **inhibit_options(checked, args),
    }


# Values that never become a column: each use reads the constant (a regex is matched in
# place; lists and handlers are only arguments of handler() and notify=).
_NO_COLUMN = (Type.REGEX, Type.OP, Type.LIST, Type.HANDLER)


class _Planner:
    """Implements PlanContext (ops.py) for the function planners."""

    def __init__(self, checked: CheckedScript) -> None:
        self._checked = checked
        self.ops: list[Op] = []
        self.kinds: list[Kind | None] = []
        self.memo: dict[Op, int] = {}
        self.lets: dict[str, int] = {}
        self.names: dict[int, list[str]] = {}
        self.alert_count = 0
        self.output_count = 0
        names = {Type.STRING: STRING, Type.BOOL: BOOL}
        # field -> STRING | BOOL (else a NUMBER), as the checker decided from its uses
        self.field_types = {f: names[t] for f, t in checked.fields.items() if t in names}

    @property
    def checked(self) -> CheckedScript:
        return self._checked

    def emit(self, op: Operator, kind: Kind | None) -> int:
        assert isinstance(op, _OP_TYPES), op
        planned = cast(Op, op)
        if not isinstance(planned, AlertOp) and planned in self.memo:
            return self.memo[planned]
        self.ops.append(planned)
        self.kinds.append(kind)
        idx = len(self.ops) - 1
        if not isinstance(planned, AlertOp):
            self.memo[planned] = idx
        return idx

    def kind(self, col: int) -> Kind:
        k = self.kinds[col]
        assert k is not None
        return k

    def op(self, col: int) -> Operator:
        return self.ops[col]

    def field_type(self, name: str) -> str:
        return self.field_types.get(name, NUMBER)

    def field(self, name: str) -> int:
        ftype = self.field_type(name)
        return self.emit(FieldOp(name, ftype), field_kind(ftype))

    def statement(self, stmt: Let | Expr) -> None:
        checked = self.checked
        if isinstance(stmt, Let):
            if checked.type_of(stmt.value) in _NO_COLUMN:
                return  # no column: each use reads the constant (a regex is matched in place)
            col = self.expr(stmt.value)
            self.lets[stmt.name] = col
            self.names.setdefault(col, []).append(stmt.name)
            return
        if checked.type_of(stmt) == Type.ALERT:
            assert isinstance(stmt, Call)
            call = checked.call(stmt)
            if call.function.name == "deadman":
                self.emit(plan_deadman(checked, call, self.alert_count), None)
            else:
                self.alert(call)
            self.alert_count += 1
            return
        if checked.type_of(stmt) == Type.OUTPUT:
            assert isinstance(stmt, Call)
            self.output(checked.call(stmt))
            return
        # A value nobody uses (the checker warns): planned like an unused let, then dropped.
        if checked.type_of(stmt) not in _NO_COLUMN:
            self.expr(stmt)

    def expr(self, node: Expr) -> int:
        checked = self.checked
        value = checked.constant(node)
        if value is not None:
            return self.constant(node, value)
        if isinstance(node, Ident):
            let = checked.binding(node)
            if let is not None:
                return self.lets[let.name]
            name = checked.field_name(node)
            assert name is not None
            return self.field(name)
        if isinstance(node, Unary):
            return self.unary(node)
        if isinstance(node, Binary):
            return self.binary(node)
        assert isinstance(node, Call), node
        call = checked.call(node)
        return PLANNERS[call.function](self, node, call)

    def constant(self, node: Expr, value: object) -> int:
        """The column of a constant: the engine computes durations and times as float ns."""
        if isinstance(value, str):
            return scalar.string_const(self, value)
        if isinstance(value, bool):
            return self.emit(ConstOp(1.0 if value else 0.0, boolean=True), Kind.BOOL)
        assert isinstance(value, int | float), f"{node} has no column"
        return self.emit(ConstOp(float(value)), Kind.NUM)

    def scalar(self, node: Expr, *allowed: Kind) -> int:
        col = self.expr(node)
        assert self.kind(col) in allowed, f"the checker typed {node} as one of {allowed}"
        return col

    def unary(self, node: Unary) -> int:
        if node.op == "-":
            return self.emit(UnaryOp("-", self.scalar(node.operand, Kind.NUM)), Kind.NUM)
        assert node.op == "not", node.op
        return self.emit(UnaryOp("not", self.scalar(node.operand, Kind.BOOL)), Kind.BOOL)

    def binary(self, node: Binary) -> int:
        op = node.op
        text = scalar.plan_binary(self, node)  # strings: ==, <, +, =~ ...
        if text is not None:
            return text
        if op in ARITHMETIC:
            left = self.scalar(node.left, Kind.NUM)
            right = self.scalar(node.right, Kind.NUM)
            return self.emit(BinaryOp(op, left, right), Kind.NUM)
        if op in COMPARISONS:
            left = self.scalar(node.left, Kind.NUM, Kind.BOOL)
            right = self.scalar(node.right, Kind.NUM, Kind.BOOL)
            assert self.kind(left) is self.kind(right), "the checker compares like with like"
            return self.emit(BinaryOp(op, left, right), Kind.BOOL)
        assert op in LOGICAL, op
        left = self.scalar(node.left, Kind.BOOL)
        right = self.scalar(node.right, Kind.BOOL)
        return self.emit(BinaryOp(op, left, right), Kind.BOOL)

    def alert(self, call: BoundCall) -> None:
        checked, args = self.checked, call.args
        value = self.scalar(args["value"], Kind.NUM, Kind.BOOL)
        op = checked.constant(args["op"])
        assert isinstance(op, str) and op in COMPARISONS
        threshold = number(checked, args["threshold"])
        threshold_col = None
        if threshold is None:
            threshold_col = self.scalar(args["threshold"], Kind.NUM, Kind.BOOL)
        message, message_col = None, None
        lower: list[LowerLevel] = []
        resets: list[LowerLevel] = []
        level = checked.constant(args["level"]) if "level" in args else "critical"
        assert isinstance(level, str)
        for name, node in args.items():  # options in the order written: their columns too
            if name == "message":
                text = checked.constant(node)
                if isinstance(text, str):
                    message = text
                else:
                    message_col = self.scalar(node, Kind.STR)
            elif name in LEVEL_OPTIONS:
                literal = number(checked, node)
                col = None if literal is not None else self.scalar(node, Kind.NUM, Kind.BOOL)
                of, reset = LEVEL_OPTIONS[name]
                (resets if reset else lower).append(
                    LowerLevel(of or level.upper(), literal, col, reset)
                )
        lower.sort(key=lambda lv: RAISED_LEVELS.index(lv.level))
        resets.sort(key=lambda lv: RAISED_LEVELS.index(lv.level))
        alert = AlertOp(
            self.alert_count,
            value,
            op,
            threshold,
            threshold_col,
            level.upper(),
            message,
            message_col,
            tuple(lower),
            self.kind(value) is Kind.BOOL,
            resets=tuple(resets),
            **alert_options(checked, args),
        )
        self.emit(alert, None)

    def output(self, call: BoundCall) -> None:
        checked, args = self.checked, call.args
        value = self.expr(args["value"])

        def text(name: str) -> str:
            node = args.get(name)
            if node is None:
                param = call.function.param(name)
                default = param.default if param is not None else ""
                return default if isinstance(default, str) else ""
            found = checked.constant(node)
            assert isinstance(found, str), f"the checker made {name}= a constant string"
            return found

        tags_node = args.get("tags")
        listed = checked.constant(tags_node) if tags_node is not None else ()
        tags = parse_tags(cast(tuple[object, ...], listed))
        assert not isinstance(tags, str), "the checker checked the tags"
        kind = call.function.name
        op = OutputOp(
            self.output_count,
            kind,
            value,
            self.kind(value) is Kind.BOOL,
            text("field"),
            text("measurement"),
            tags,
            text("db"),
            text("rp"),
            text("cluster"),
            text("name") if kind == "http_out" else text("subject"),
        )
        self.emit(op, None)
        self.output_count += 1

    def finish(self) -> Program:
        """Drop operators no alert or output needs and renumber the rest, keeping their
        order."""
        live = [False] * len(self.ops)
        for i in range(len(self.ops) - 1, -1, -1):
            if isinstance(self.ops[i], AlertOp | DeadmanOp | OutputOp):
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


# --- the core functions: windows, aggregates, MathOp's math, time, now, field ------------


def _window(ctx: PlanContext, node: Call, call: BoundCall) -> int:
    checked, args = ctx.checked, call.args
    arg = ctx.scalar(args["x"], Kind.NUM, Kind.BOOL)
    size_node = args["size"]
    size = checked.constant(size_node)
    assert isinstance(size, int) and size > 0, "the checker takes a size > 0"
    every_node = call.arg("every")
    every = None if every_node is None else checked.constant(every_node)
    assert every is None or isinstance(every, int)
    if checked.type_of(size_node) != Type.DURATION:
        return ctx.emit(CountWindowOp(arg, size, every), Kind.VEC)
    text = duration_text(checked, size_node)
    align = "align" in args and checked.constant(args["align"]) is True
    if every_node is None:
        if not align:
            return ctx.emit(TimeWindowOp(arg, size, text), Kind.VEC)
        every, every_text = size, text  # aligned without every=: tumbling windows
    else:
        every_text = duration_text(checked, every_node)
    assert every is not None
    return ctx.emit(TimeWindowOp(arg, size, text, every, align, every_text), Kind.VEC)


def _aggregate(ctx: PlanContext, node: Call, call: BoundCall) -> int:
    arg = ctx.expr(call.args["v"])
    assert ctx.kind(arg) is Kind.VEC, "the checker takes a vector"
    p = None if "p" not in call.args else number(ctx.checked, call.args["p"])
    return ctx.emit(AggOp(call.function.name, arg, p), Kind.NUM)


def _math(ctx: PlanContext, node: Call, call: BoundCall) -> int:
    return ctx.emit(MathOp(call.function.name, ctx.scalar(call.args["x"], Kind.NUM)), Kind.NUM)


def _time(ctx: PlanContext, node: Call, call: BoundCall) -> int:
    return ctx.emit(TimeOp(now=call.function.name == "now"), Kind.NUM)


def _field(ctx: PlanContext, node: Call, call: BoundCall) -> int:
    name = ctx.checked.field_name(node)
    assert name is not None
    return ctx.field(name)


_CORE: Planners = {
    FUNCTIONS["window"]: _window,
    **{
        fn: _aggregate
        for fn in REGISTRY
        if fn.kind is FnKind.AGGREGATE and fn.name in AGGREGATE_FUNCTIONS
    },
    **{FUNCTIONS[name]: _math for name in MATH_FUNCTIONS},
    FUNCTIONS["time"]: _time,
    FUNCTIONS["now"]: _time,
    FUNCTIONS["field"]: _field,
}
_FAMILIES = (
    _CORE,
    scalar.PLANNERS,
    stream.PLANNERS,
    vecfuncs.PLANNERS,
    shift.PLANNERS,
    forecast.PLANNERS,
)
PLANNERS: dict[Function, CallPlanner] = {fn: p for table in _FAMILIES for fn, p in table.items()}
# Every function but the output statements has exactly one planner.
assert sum(len(table) for table in _FAMILIES) == len(PLANNERS)
assert set(PLANNERS) == {
    fn for fn in REGISTRY if fn.kind is not FnKind.ALERT and fn.kind is not FnKind.OUTPUT
}


def build_program(checked: CheckedScript) -> Program:
    """Plan a checked script. The checker has rejected whatever cannot run; the one error left
    is a script with no alert() or deadman() (checked with `require_alert=False`)."""
    planner = _Planner(checked)
    script = checked.script
    for stmt in script.statements:
        planner.statement(stmt)
    if planner.alert_count == 0 and planner.output_count == 0:
        raise DslTypeError(
            "the script has no alert(...) statement nor output, so it can never produce anything",
            script.span,
        )
    return planner.finish()
