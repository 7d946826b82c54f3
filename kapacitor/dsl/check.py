"""The plugin language's checker: AST -> CheckedScript (names resolved, every expression typed).

`check(script, source)` resolves each bare name to a `let` binding or a point field, binds each
call's arguments to its function's parameters (functions.py), infers the type of every
expression, validates constants (window sizes, percentiles, alert levels) and raises a
DslTypeError with the span of the offending node at the first problem.

Field typing: a field's type is only known per point, so the checker infers what each field is
*used as* - a number by default, a string or a bool when the context demands one - and records
it in `CheckedScript.fields`. A field used as two different types is an error. At run time a
point whose field is missing or holds another type gives that expression no value (the engine
skips what depends on it for that point, and counts it).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from kapacitor.dsl.alert_check import EXTRA_CHECKS as ALERT_CHECKS
from kapacitor.dsl.alert_check import check_alert_topics
from kapacitor.dsl.ast import (
    Binary,
    Bool,
    Call,
    Duration,
    Expr,
    Ident,
    Let,
    List,
    Number,
    OpRef,
    Regex,
    Script,
    String,
    Unary,
)
from kapacitor.dsl.check_context import ExtraCheck, FieldVar
from kapacitor.dsl.fold import FoldError, fold_binary, fold_unary
from kapacitor.dsl.functions import Function, Param, lookup
from kapacitor.dsl.functions import suggest as suggest_function
from kapacitor.dsl.output_check import EXTRA_CHECKS as OUTPUT_CHECKS
from kapacitor.dsl.scalar_check import EXTRA_CHECKS as SCALAR_CHECKS
from kapacitor.dsl.stream_check import EXTRA_CHECKS as STREAM_CHECKS
from kapacitor.dsl.tokens import compile_regex
from kapacitor.dsl.types import FIELD_TYPES, NUMERIC, SCALAR, Type, describe
from kapacitor.dsl.vector_check import EXTRA_CHECKS as VECTOR_CHECKS
from kapacitor.errors import DslError, DslTypeError, Span

_ARITHMETIC = frozenset({"+", "-", "*", "/", "%"})
_ORDERING = frozenset({"<", "<=", ">", ">="})
_EQUALITY = frozenset({"==", "!="})


class DslWarning(DslError):
    """A diagnostic that does not stop the script (never raised; see CheckedScript.warnings)."""


@dataclass(frozen=True, slots=True)
class BoundCall:
    """A call matched to its function: `args` maps each parameter passed to its expression;
    `rest` holds the repeats of a variadic function's last parameter (`min(a, b, c)`: c)."""

    function: Function
    args: Mapping[str, Expr]
    rest: tuple[Expr, ...] = ()

    def arg(self, name: str) -> Expr | None:
        return self.args.get(name)

    def positional(self) -> tuple[Expr, ...]:
        """The arguments of the positional parameters passed (by position or name), in the
        parameters' order, then the repeats."""
        params = self.function.positional
        return (*(self.args[p.name] for p in params if p.name in self.args), *self.rest)


@dataclass(frozen=True, eq=False)
class CheckedScript:
    """A script that checks, with everything the engine needs to know about it.

    Per-node facts are keyed by node identity: ask about the nodes of `self.script`.
    """

    script: Script
    source: str
    fields: Mapping[str, Type]  # each point field read -> what it is used as
    tags: frozenset[str]  # each tag read with tag("...")
    lets: Mapping[str, Let]
    alerts: tuple[Call, ...]  # the alert() statements, in order
    outputs: tuple[Call, ...]  # the output statements (influxdb_out() ...), in order
    warnings: tuple[DslWarning, ...]
    types: Mapping[int, Type] = field(repr=False)  # id(expr) -> type
    calls: Mapping[int, BoundCall] = field(repr=False)  # id(call) -> bound call
    bindings: Mapping[int, Let] = field(repr=False)  # id(ident) -> its let (absent: a field)
    field_refs: Mapping[int, str] = field(repr=False)  # id(ident or field() call) -> field
    constants: Mapping[int, object] = field(repr=False)  # id(expr) -> value known at define time

    def type_of(self, node: Expr) -> Type:
        """The type of an expression of this script (KeyError for a foreign node)."""
        return self.types[id(node)]

    def call(self, node: Call) -> BoundCall:
        """The function of a call and its arguments by parameter name."""
        return self.calls[id(node)]

    def binding(self, node: Ident) -> Let | None:
        """The let an identifier refers to, or None when it reads a point field."""
        return self.bindings.get(id(node))

    def field_name(self, node: Expr) -> str | None:
        """The point field an expression reads directly (a bare name or field("...")), if any."""
        return self.field_refs.get(id(node))

    def constant(self, node: Expr) -> object | None:
        """The value of a constant expression: int, float, str, bool, a duration as int
        nanoseconds, a regex as a compiled re.Pattern, an op as its string; else None."""
        return self.constants.get(id(node))

    @property
    def result_type(self) -> Type | None:
        """The type of the last statement (for expression mode), or None if there is none."""
        if not self.script.statements:
            return None
        last = self.script.statements[-1]
        return self.types[id(last.value if isinstance(last, Let) else last)]


_T = Type | FieldVar


class _Checker:
    """Implements CheckContext (check_context.py) for the per-function checks."""

    def __init__(self, script: Script, source: str, require_alert: bool) -> None:
        self.script = script
        self.source = source
        self.require_alert = require_alert
        self.types: dict[int, _T] = {}
        self.calls: dict[int, BoundCall] = {}
        self.bindings: dict[int, Let] = {}
        self.field_refs: dict[int, str] = {}
        self.constants: dict[int, object] = {}
        self.vars: dict[str, FieldVar] = {}
        self.field_types: dict[str, tuple[Type, Span]] = {}  # decided type, and where
        self.scope: dict[str, tuple[Let, _T]] = {}
        self.later: dict[str, Let] = {}  # lets further down the script
        self.used: set[str] = set()
        self.tags: set[str] = set()
        self.alerts: list[Call] = []
        self.outputs: list[Call] = []
        self.warnings: list[DslWarning] = []

    # --- helpers --------------------------------------------------------------------------

    def error(self, message: str, span: Span) -> DslTypeError:
        return DslTypeError(message, span, self.source)

    def warn(self, message: str, span: Span) -> None:
        self.warnings.append(DslWarning(message, span, self.source))

    def text(self, node: Expr) -> str:
        return str(node)

    def let_name_span(self, let: Let) -> Span:
        lines = self.source.splitlines()
        if 1 <= let.span.line <= len(lines):
            col = lines[let.span.line - 1].find(let.name, let.span.col + 2)
            if col >= 0:
                return Span(let.span.line, col + 1, len(let.name))
        return let.span

    def name_span(self, call: Call) -> Span:
        return Span(call.span.line, call.span.col, len(call.name))

    def record(self, node: Expr, t: _T) -> _T:
        self.types[id(node)] = t
        return t

    def type_of(self, node: Expr) -> _T:
        return self.types[id(node)]

    def constant(self, node: Expr) -> object | None:
        return self.constants.get(id(node))

    def field_name(self, node: Expr) -> str | None:
        return self.field_refs.get(id(node))

    def decided(self, field: str) -> Type | None:
        decided = self.field_types.get(field)
        return None if decided is None else decided[0]

    def var(self, name: str) -> FieldVar:
        return self.vars.setdefault(name, FieldVar(name))

    def coerce(self, t: _T, allowed: Type, span: Span) -> Type | None:
        """`t` as a member of `allowed`, deciding a field's type on first use; None if not."""
        if isinstance(t, Type):
            return t if t in allowed else None
        decided = self.field_types.get(t.name)
        if decided is not None:
            kind, where = decided
            if kind in allowed:
                return kind
            if allowed & FIELD_TYPES:
                raise self.error(
                    f"field '{t.name}' is used as {describe(allowed & FIELD_TYPES)} here, but "
                    f"as {describe(kind)} at {where}",
                    span,
                )
            return None
        for kind in (Type.NUMBER, Type.STRING, Type.BOOL):
            if kind in allowed:
                self.field_types[t.name] = (kind, span)
                return kind
        return None

    def same_family(self, t: Type) -> Type:
        """What a field compared or combined with a value of type `t` must be."""
        if t in NUMERIC:
            return NUMERIC
        return t if t in FIELD_TYPES else Type(0)

    def shown(self, t: _T) -> str:
        if isinstance(t, FieldVar):
            decided = self.field_types.get(t.name)
            return describe(decided[0]) if decided else "a field"
        if t == Type.VECTOR:
            return "a vector"
        return describe(t)

    # --- statements -----------------------------------------------------------------------

    def run(self) -> CheckedScript:
        statements = self.script.statements
        for st in statements:
            if isinstance(st, Let):
                if st.name in self.later:
                    first = self.later[st.name]
                    raise self.error(
                        f"'{st.name}' is already bound by the let at {self.let_name_span(first)}",
                        self.let_name_span(st),
                    )
                self.later[st.name] = st
        for st in statements:
            if isinstance(st, Let):
                del self.later[st.name]  # in its own definition, the name still reads the field
                t = self.infer(st.value)
                if t in (Type.ALERT, Type.OUTPUT):
                    assert isinstance(st.value, Call)
                    raise self.error(
                        f"{st.value.name}() cannot be bound with let: write it as a statement"
                        " of its own",
                        st.value.span,
                    )
                self.scope[st.name] = (st, t)
                continue
            t = self.infer(st)
            if t == Type.ALERT:
                assert isinstance(st, Call)
                self.alerts.append(st)
            elif t == Type.OUTPUT:
                assert isinstance(st, Call)
                self.outputs.append(st)
            elif self.require_alert:
                self.warn(
                    "this value is not used: bind it with let, or pass it to alert()", st.span
                )
        for name, (let, _) in self.scope.items():
            if name not in self.used and self.require_alert:
                self.warn(f"'{name}' is never used", self.let_name_span(let))
        check_alert_topics(self, [(call, self.calls[id(call)].args) for call in self.alerts])
        if self.require_alert and not self.alerts and not self.outputs:
            span = statements[0].span if statements else Span(1, 1)
            raise self.error(
                "no alert() in script: a script must raise at least one "
                "alert(value, op, threshold) or write its values out (influxdb_out(), "
                "http_out(), publish(), loopback())",
                span,
            )
        return self.finish()

    def finish(self) -> CheckedScript:
        def resolved(t: _T) -> Type:
            if isinstance(t, Type):
                return t
            decided = self.field_types.get(t.name)
            return decided[0] if decided else Type.NUMBER

        fields = {name: resolved(v) for name, v in sorted(self.vars.items())}
        return CheckedScript(
            script=self.script,
            source=self.source,
            fields=fields,
            tags=frozenset(self.tags),
            lets={name: let for name, (let, _) in self.scope.items()},
            alerts=tuple(self.alerts),
            outputs=tuple(self.outputs),
            warnings=tuple(self.warnings),
            types={k: resolved(t) for k, t in self.types.items()},
            calls=self.calls,
            bindings=self.bindings,
            field_refs=self.field_refs,
            constants=self.constants,
        )

    # --- expressions ----------------------------------------------------------------------

    def infer(self, node: Expr) -> _T:
        match node:
            case Number(value=value):
                self.constants[id(node)] = value
                return self.record(node, Type.INT if isinstance(value, int) else Type.FLOAT)
            case String(value=value):
                self.constants[id(node)] = value
                return self.record(node, Type.STRING)
            case Bool(value=value):
                self.constants[id(node)] = value
                return self.record(node, Type.BOOL)
            case Duration(ns=ns):
                self.constants[id(node)] = ns
                return self.record(node, Type.DURATION)
            case Regex(pattern=pattern):
                self.constants[id(node)] = compile_regex(pattern, self.source)
                return self.record(node, Type.REGEX)
            case OpRef(op=op):
                self.constants[id(node)] = op
                return self.record(node, Type.OP)
            case Ident():
                return self.record(node, self.ident(node))
            case Unary():
                return self.record(node, self.unary(node))
            case Binary():
                return self.record(node, self.binary(node))
            case Call():
                return self.record(node, self.call(node))
            case List():
                return self.record(node, self.list(node))
        raise self.error(f"unexpected node {type(node).__name__}", node.span)  # pragma: no cover

    def list(self, node: List) -> Type:
        """A list holds constants (of one type) or handlers, never a list."""
        values: list[object] = []
        kinds: set[Type] = set()
        for item in node.items:
            t = self.infer(item)
            if t == Type.HANDLER:
                kinds.add(t)
                continue
            value = self.constants.get(id(item))
            if value is None or not isinstance(t, Type) or t not in SCALAR:
                raise self.error(
                    "a list holds values known when the script is defined (literals, or lets "
                    f"bound to them) or handler()s, got {self.shown(t)}",
                    item.span,
                )
            kinds.add(Type.FLOAT if t in NUMERIC else t)
            values.append(value)
        if len(kinds) > 1:
            raise self.error("a list holds values of one type", node.span)
        if Type.HANDLER not in kinds:
            self.constants[id(node)] = tuple(values)
        return Type.LIST

    def ident(self, node: Ident) -> _T:
        name = node.name
        if name in self.scope:
            let, t = self.scope[name]
            self.used.add(name)
            self.bindings[id(node)] = let
            value = self.constants.get(id(let.value))
            if value is not None:
                self.constants[id(node)] = value
            return t
        if name in self.later:
            let = self.later[name]
            raise self.error(
                f"'{name}' is bound by the let at {self.let_name_span(let)}, after this use: "
                f'move that let up, or write field("{name}") to read the field',
                node.span,
            )
        close = difflib.get_close_matches(name, list(self.scope), n=1, cutoff=0.8)
        if close:
            self.warn(
                f"'{name}' reads a field of the point: did you mean the let '{close[0]}'?",
                node.span,
            )
        self.field_refs[id(node)] = name
        return self.var(name)

    def unary(self, node: Unary) -> _T:
        t = self.infer(node.operand)
        if node.op == "not":
            if self.coerce(t, Type.BOOL, node.operand.span) is None:
                raise self.error(f"'not' expects a bool, got {self.shown(t)}", node.operand.span)
            self.fold(node, lambda a: fold_unary("not", Type.BOOL, a), node.operand)
            return Type.BOOL
        kind = self.coerce(t, NUMERIC | Type.DURATION, node.operand.span)
        if kind is None:
            raise self.error(
                f"'-' expects a number or a duration, got {self.shown(t)}{self.hint(t)}",
                node.operand.span,
            )
        self.fold(node, lambda a: fold_unary("-", kind, a), node.operand)
        return kind

    def hint(self, t: _T) -> str:
        if t == Type.VECTOR:
            return ": aggregate the window first, e.g. avg(window(value, 10))"
        if t == Type.ALERT:
            return ": alert() must be a statement of its own"
        if t == Type.OUTPUT:
            return ": an output must be a statement of its own"
        if t == Type.REGEX:
            return ": a regex can only be matched with =~ or !~, or passed to a function"
        return ""

    def binary(self, node: Binary) -> _T:
        op = node.op
        lt, rt = self.infer(node.left), self.infer(node.right)
        sides = (node.left, node.right)
        if op in ("and", "or"):
            for side, t in ((node.left, lt), (node.right, rt)):
                if self.coerce(t, Type.BOOL, side.span) is None:
                    raise self.error(
                        f"'{op}' expects bool operands, got {self.shown(t)}{self.hint(t)}",
                        side.span,
                    )
            self.fold(node, lambda a, b: fold_binary(op, Type.BOOL, Type.BOOL, a, b), *sides)
            return Type.BOOL
        if op in ("=~", "!~"):
            if self.coerce(lt, Type.STRING, node.left.span) is None:
                raise self.error(
                    f"'{op}' matches a string, got {self.shown(lt)}{self.hint(lt)}",
                    node.left.span,
                )
            if rt != Type.REGEX:
                raise self.error(
                    f"the right side of '{op}' must be a regex such as /^web/, "
                    f"got {self.shown(rt)}",
                    node.right.span,
                )
            return Type.BOOL
        left, right = self.operands(node, lt, rt)
        if op in _ORDERING or op in _EQUALITY:
            ok = (
                (left in NUMERIC and right in NUMERIC)
                or (left == right and left in Type.STRING | Type.DURATION | Type.TIME)
                or (left == right == Type.BOOL and op in _EQUALITY)
            )
            if not ok:
                raise self.error(
                    f"cannot compare {self.shown(left)} with {self.shown(right)} using '{op}'"
                    + (self.hint(left) or self.hint(right)),
                    node.span,
                )
            self.fold(node, lambda a, b: fold_binary(op, left, right, a, b), *sides)
            return Type.BOOL
        result = _arithmetic(op, left, right)
        if result is None:
            raise self.error(
                f"cannot apply '{op}' to {self.shown(left)} and {self.shown(right)}"
                + (self.hint(left) or self.hint(right)),
                node.span,
            )
        self.fold(node, lambda a, b: fold_binary(op, left, right, a, b), *sides)
        return result

    def fold(self, node: Expr, compute: Callable[..., object | None], *operands: Expr) -> None:
        """Record `node`'s value when all its operands are constants (see fold.py)."""
        values = [self.constants.get(id(o)) for o in operands]
        if any(v is None for v in values):
            return
        try:
            value = compute(*values)
        except FoldError as e:
            raise self.error(f"{e} in {node}", node.span) from None
        if value is not None:
            self.constants[id(node)] = value

    def operands(self, node: Binary, lt: _T, rt: _T) -> tuple[Type, Type]:
        """Decide field operands from the other side: `host == "a"` makes host a string."""
        if isinstance(lt, FieldVar) and isinstance(rt, Type):
            family = self.same_family(rt)
            if node.op in ("*", "/", "%") or (node.op in ("+", "-") and rt != Type.STRING):
                family = NUMERIC  # duration * field, time - field: the field is a number
            return self.coerce(lt, family or NUMERIC, node.left.span) or Type.NUMBER, rt
        if isinstance(rt, FieldVar) and isinstance(lt, Type):
            family = self.same_family(lt)
            if node.op in ("*", "/", "%") or (node.op in ("+", "-") and lt != Type.STRING):
                family = NUMERIC
            return lt, self.coerce(rt, family or NUMERIC, node.right.span) or Type.NUMBER
        if isinstance(lt, FieldVar) and isinstance(rt, FieldVar):
            # Both fields: whichever is decided decides the other; numbers by default.
            known = self.field_types.get(lt.name) or self.field_types.get(rt.name)
            family = self.same_family(known[0]) if known else NUMERIC
            if node.op in _ARITHMETIC and node.op != "+":
                family = NUMERIC
            left = self.coerce(lt, family, node.left.span)
            right = self.coerce(rt, family, node.right.span)
            return left or Type.NUMBER, right or Type.NUMBER
        assert isinstance(lt, Type) and isinstance(rt, Type)
        return lt, rt

    # --- calls ----------------------------------------------------------------------------

    def call(self, node: Call) -> _T:
        fn = lookup(node.name, len(node.args))
        if fn is None:
            raise self.unknown_function(node)
        bound = self.bind(fn, node)
        self.calls[id(node)] = BoundCall(fn, bound, node.args[len(fn.positional) :])
        for param in fn.params:
            arg = bound.get(param.name)
            if arg is not None:
                self.argument(fn, node, param, arg)
        for arg in node.args[len(fn.positional) :]:  # the repeats of a variadic function
            self.argument(fn, node, fn.positional[-1], arg)
        for option, arg in bound.items():  # the options of a function with open keywords
            if fn.param(option) is None:
                self.infer(arg)
                if id(arg) not in self.constants:
                    raise self.error(
                        f"'{option}' of {fn.name}() must be known when the script is defined: "
                        "a literal, a list of them, or a let bound to one",
                        arg.span,
                    )
        if fn.name in ("tag", "field"):
            self.check_name(node, bound["name"])
        extra = _EXTRA_CHECKS.get(fn.name)
        if extra is not None:
            extra(self, node, bound)
        if fn.name == "default":  # of the field's type, which the value decided
            return self.types[id(bound["field"])]
        if fn.name == "if":
            return self.conditional(node, bound["then"], bound["else"])
        if fn.name == "field":
            name = self.constants[id(bound["name"])]
            assert isinstance(name, str)
            self.field_refs[id(node)] = name
            return self.var(name)
        return fn.returns

    def check_name(self, call: Call, node: Expr) -> None:
        name = self.constants[id(node)]
        assert isinstance(name, str)
        if not name:
            raise self.error(f"{call.name}() needs a non-empty name", node.span)
        if call.name == "tag":
            self.tags.add(name)

    def conditional(self, node: Call, then: Expr, other: Expr) -> Type:
        """The type of `if(c, then, else)`: both sides of one type, as for `then == else`."""
        lt, rt = self.types[id(then)], self.types[id(other)]
        left, right = self.operands(Binary("==", then, other, span=node.span), lt, rt)
        if left in NUMERIC and right in NUMERIC:
            return Type.INT if left == right == Type.INT else Type.FLOAT
        if left == right and left in SCALAR:
            return left
        bad = then if left not in SCALAR else other
        raise self.error(
            f"if() needs two values of one type, got {self.shown(left)} and "
            f"{self.shown(right)}{self.hint(left) or self.hint(right)}",
            bad.span if (left not in SCALAR or right not in SCALAR) else node.span,
        )

    def unknown_function(self, node: Call) -> DslTypeError:
        span = self.name_span(node)
        if node.name in self.scope or node.name in self.later:
            return self.error(f"'{node.name}' is a let binding, not a function", span)
        close = suggest_function(node.name)
        hint = f": did you mean {close}?" if close else ""
        return self.error(f"unknown function '{node.name}'{hint}", span)

    def bind(self, fn: Function, node: Call) -> dict[str, Expr]:
        positional = fn.positional
        if len(node.args) > len(positional) and not fn.variadic:
            raise self.error(
                f"{fn.name}() takes {_count(positional)}, got {len(node.args)}: {fn.signature()}",
                node.args[len(positional)].span,
            )
        bound: dict[str, Expr] = {p.name: a for p, a in zip(positional, node.args, strict=False)}
        for kw in node.kwargs:
            param = fn.param(kw.name)
            span = Span(kw.span.line, kw.span.col, len(kw.name))
            if param is None and fn.open_keywords:
                bound[kw.name] = kw.value  # checked by the function's extra check
                continue
            if param is None:
                names = [p.name for p in fn.params]
                close = suggest_function(kw.name, names)
                hint = f": did you mean {close}?" if close else f": {fn.signature()}"
                raise self.error(f"{fn.name}() has no argument '{kw.name}'{hint}", span)
            if kw.name in bound:
                raise self.error(
                    f"{fn.name}() got '{kw.name}' twice, by position and by name", span
                )
            bound[kw.name] = kw.value
        for param in fn.params:
            if param.required and param.name not in bound:
                if not node.kwargs and not param.keyword_only:
                    message = f"{fn.name}() takes {_count(positional)}, got {len(node.args)}"
                else:
                    message = f"{fn.name}() is missing the argument '{param.name}'"
                raise self.error(f"{message}: {fn.signature()}", self.name_span(node))
        return bound

    def argument(self, fn: Function, call: Call, param: Param, arg: Expr) -> None:
        if (
            fn.name == "alert"
            and param.name == "level"
            and isinstance(arg, Ident)
            and arg.name not in self.scope
        ):
            raise self.error(f'level= takes a string: write level="{arg.name.lower()}"', arg.span)
        t = self.infer(arg)
        if fn.name == "if" and param.name != "cond":
            return  # typed together, by conditional()
        if param.const and isinstance(t, FieldVar):
            raise self.const_error(fn, param, arg)
        if param.type == FIELD_TYPES:
            return  # any field, whatever the rest uses it as: is_present(f) (checked later)
        if self.coerce(t, param.type, arg.span) is None:
            if param.type == Type.VECTOR and t != Type.VECTOR and t != Type.ALERT:
                raise self.error(
                    f"{fn.name} expects a vector, got a scalar: did you mean "
                    f"{call.name}(window({arg}, N))?",
                    arg.span,
                )
            if t == Type.OP:
                message = f"{fn.name}() expects {describe(param.type)} for '{param.name}', "
                message += "got a comparison operator (only alert()'s op takes one)"
                raise self.error(message, arg.span)
            raise self.error(
                f"{fn.name}() expects {describe(param.type)} for '{param.name}', "
                f"got {self.shown(t)}{self.hint(t)}",
                arg.span,
            )
        if param.const and id(arg) not in self.constants:
            raise self.const_error(fn, param, arg)

    def const_error(self, fn: Function, param: Param, arg: Expr) -> DslTypeError:
        return self.error(
            f"'{param.name}' of {fn.name}() must be known when the script is defined: "
            "a literal, a let bound to one, or an expression of them",
            arg.span,
        )


def _count(params: tuple[Param, ...]) -> str:
    required = sum(1 for p in params if p.required)
    if required == len(params):
        return f"{required} argument{'s' if required != 1 else ''}"
    return f"{required} to {len(params)} arguments"


def _arithmetic(op: str, left: Type, right: Type) -> Type | None:
    """The result type of `left op right`, or None when the operation is not defined."""
    if left in NUMERIC and right in NUMERIC:
        if op == "/" or Type.FLOAT in (left, right) or Type.NUMBER in (left, right):
            return Type.FLOAT
        return Type.INT
    d, t = Type.DURATION, Type.TIME
    table: dict[tuple[str, Type, Type], Type] = {
        ("+", Type.STRING, Type.STRING): Type.STRING,
        ("+", d, d): d,
        ("-", d, d): d,
        ("/", d, d): Type.FLOAT,
        ("%", d, d): d,
        ("+", t, d): t,
        ("+", d, t): t,
        ("-", t, d): t,
        ("-", t, t): d,
    }
    if (op, left, right) in table:
        return table[(op, left, right)]
    if op == "*" and ((left == d and right in NUMERIC) or (right == d and left in NUMERIC)):
        return d
    if op == "/" and left == d and right in NUMERIC:
        return d
    return None


# --- per-function checks beyond the signature ---------------------------------------------

_EXTRA_CHECKS: dict[str, ExtraCheck] = {
    **ALERT_CHECKS,
    **OUTPUT_CHECKS,
    **SCALAR_CHECKS,
    **STREAM_CHECKS,
    **VECTOR_CHECKS,
}

assert all(lookup(name) is not None for name in _EXTRA_CHECKS)


def check(script: Script, source: str, *, require_alert: bool = True) -> CheckedScript:
    """Check a parsed script; raise DslTypeError at the first problem.

    `require_alert=True` (plugin scripts): at least one alert() statement is required, and
    unused values and lets are reported as warnings. `require_alert=False` (a where clause,
    a REPL line): any script whose statements check; `result_type` is the last one's type.
    """
    return _Checker(script, source, require_alert).run()
