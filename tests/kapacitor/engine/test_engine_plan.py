"""Planning: printed plans, sharing, dead lets, and the errors for what cannot run."""

from __future__ import annotations

import ast
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
from engine_testkit import SECOND, agg, alert, checked, planned, script, win
from hypothesis import given, settings

from kapacitor.dsl.ast import (
    Binary,
    Bool,
    Call,
    Duration,
    Expr,
    Ident,
    Keyword,
    Let,
    Number,
    OpRef,
    Script,
    String,
)
from kapacitor.dsl.compile import compile_script
from kapacitor.dsl.functions import OVERLOADS, REGISTRY
from kapacitor.dsl.functions import Kind as FnKind
from kapacitor.engine import build_program, forecast, plan, scalar, shift, stream, vecfuncs
from kapacitor.engine.ops import Kind, Operator
from kapacitor.engine.plan import PLANNERS
from kapacitor.engine.vecfuncs import VecOp
from kapacitor.errors import DslError, DslTypeError, Span
from kapacitor.testing.scripts import PIECES, mutated_scripts


def test_r1_plan_prints_one_operator_per_line() -> None:
    prog = planned(script(alert(agg("avg", win("usage_idle", 10)), "<", 30)))
    assert str(prog) == (
        "%0 = field usage_idle\n"
        "%1 = window.count %0 n=10\n"
        "%2 = agg.avg %1\n"
        "%3 = alert %2 < 30 level=CRITICAL"
    )


def test_time_window_and_options_print() -> None:
    prog = planned(
        script(alert(agg("mean", win("x", "10s")), ">=", 2.5, level="warning", message="hi {host}"))
    )
    assert str(prog).splitlines()[1:] == [
        "%1 = window.time %0 span=10s",
        "%2 = agg.avg %1",
        '%3 = alert %2 >= 2.5 level=WARNING message="hi {host}"',
    ]


def test_shared_subexpressions_and_lets_are_planned_once() -> None:
    prog = planned(
        script(
            Let("w", win("x", 5)),
            Let("unused", agg("sum", win("other", 3))),
            alert(Binary("-", agg("max", Ident("w")), agg("min", win("x", 5))), ">", 1),
        )
    )
    text = str(prog)
    assert text.count("window.count") == 1
    assert "other" not in text  # a dead let reads no field
    assert "# let w" in text
    assert prog.fields == ("x",)


def test_percentile_threshold_column_and_several_alerts() -> None:
    prog = planned(
        script(
            alert(agg("percentile", win("x", 10), Number(95)), ">", agg("avg", win("x", 10))),
            alert(Ident("x"), "<", 0),
        )
    )
    assert "agg.percentile %1 p=95" in str(prog)
    assert [a.index for a in prog.alerts] == [0, 1]
    assert prog.alerts[0].threshold_col is not None


def test_math_time_and_duration_values() -> None:
    prog = planned(
        script(
            alert(Binary("-", Call("now"), Call("time")), ">", Duration(30 * SECOND, "30s")),
            alert(Call("abs", (Call("field", (String("disk used"),)),)), ">", 1),
        )
    )
    assert "math.abs" in str(prog) and "field disk used" in str(prog)
    assert prog.alerts[0].threshold == 30 * SECOND


BAD = [
    (script(alert(win("x", 10), "<", 3)), "for 'value', got a vector"),
    (script(alert(agg("avg", Ident("x")), "<", 3)), "avg expects a vector, got a scalar"),
    (script(alert(agg("agv", win("x", 3)), "<", 3)), "unknown function 'agv'"),
    (script(alert(agg("avg", win("x", 0)), "<", 3)), "window size must be positive"),
    (script(alert(agg("avg", win("x", Number(2.5))), "<", 3)), "for 'size', got a float"),
    (script(alert(agg("percentile", win("x", 3), Number(101)), "<", 3)), "between 0 and 100"),
    (script(alert(Ident("x"), "=~", 3)), "expected a comparison"),
    (script(alert(Ident("x"), "<", 3, level="PANIC")), "unknown alert level 'PANIC'"),
    (script(agg("avg", win("x", 3))), "no alert"),
    (script(Let("a", alert(Ident("x"), "<", 3))), "cannot be bound"),
    (script(Let("a", Ident("x"))), "no alert"),
    (script(alert(Binary("+", Ident("x"), String("s")), "<", 3)), "for 'value', got a string"),
    (script(alert(Binary("and", Ident("x"), Ident("y")), "==", 3)), "must be true or false"),
]


@pytest.mark.parametrize(("scr", "fragment"), BAD)
def test_the_checker_rejects_what_cannot_run(scr: Script, fragment: str) -> None:
    """What the planner once rejected on its own, the checker rejects first."""
    with pytest.raises(DslTypeError, match=fragment):
        checked(scr)


def test_an_unused_value_plans_like_an_unused_let() -> None:
    """The checker warns about a statement nobody uses; the planner plans and drops it."""
    scr = checked(script(alert(Ident("x"), "<", 3), agg("avg", win("y", 3))))
    assert [w.message for w in scr.warnings] == [
        "this value is not used: bind it with let, or pass it to alert()"
    ]
    assert str(build_program(scr)) == "%0 = field x\n%1 = alert %0 < 3 level=CRITICAL"


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [
        ("every", Number(2), "every= must be of the same kind as the size: a duration"),
        ("align", Duration(SECOND, "1s"), "expects a bool for 'align'"),
        ("evry", Duration(SECOND, "1s"), "has no argument 'evry'"),
    ],
)
def test_bad_window_options_carry_the_span(option: str, value: Expr, fragment: str) -> None:
    value = dataclasses.replace(value, span=Span(1, 30, 5))
    kw = Keyword(option, value, span=Span(1, 30, 5))
    call = Call("window", (Ident("x"), Duration(10 * SECOND, "10s")), (kw,))
    scr = script(Call("alert", (Call("avg", (call,)), OpRef("<"), Number(3))))
    with pytest.raises(DslError, match=fragment) as info:
        checked(scr)
    # A misspelt option is marked by its name (4 letters), a bad value by the value.
    assert info.value.span == Span(1, 30, len(option) if option == "evry" else 5)


def test_window_options_are_planned() -> None:
    every = Keyword("every", Duration(5 * SECOND, "5s"))
    align = Keyword("align", Bool(True))
    call = Call("window", (Ident("x"), Duration(10 * SECOND, "10s")), (every, align))
    scr = script(Call("alert", (Call("avg", (call,)), OpRef("<"), Number(3))))
    assert "%1 = window.time %0 span=10s every=5s align" in str(planned(scr))


@pytest.mark.parametrize("name", sorted(OVERLOADS))
def test_every_documented_example_plans(name: str) -> None:
    """Each function's example in docs/language.md runs through the planner, not just the
    checker: nothing the checker accepts is left for the engine to refuse."""
    for fn in OVERLOADS[name]:
        program = build_program(compile_script(fn.example))
        assert program.alerts or program.outputs or fn.name == "deadman"


_CORPUS = sorted({fn.example for fns in OVERLOADS.values() for fn in fns})


# cheap per example, and mutations need many tries to reach the planner
@settings(max_examples=settings.default.max_examples * 4)
@given(mutated_scripts(_CORPUS, (*PIECES, "warn=", "tz=", "2 *")))
def test_everything_the_checker_accepts_plans(text: str) -> None:
    """Mutations of every documented example: the checker rejects with a DslError at a
    position, or the planner plans it; the planner rejects nothing the checker accepts."""
    try:
        scr = compile_script(text)
    except DslError as exc:
        assert exc.span.line >= 1
        return
    program = build_program(scr)
    assert program.alerts or program.deadmen or program.outputs


# -- the planner's structure: tables of planners, family modules below plan.py ----------------


def test_every_function_has_exactly_one_planner() -> None:
    """Each family's table plans its own functions; merged, they cover the registry (but the
    alert and output statements, which plan.py plans itself) with no function planned twice."""
    families = [scalar.PLANNERS, stream.PLANNERS, vecfuncs.PLANNERS, shift.PLANNERS]
    families.append(forecast.PLANNERS)
    owned = [fn for table in families for fn in table]
    assert len(owned) == len(set(owned))
    statements = (FnKind.ALERT, FnKind.OUTPUT)
    assert set(PLANNERS) == {fn for fn in REGISTRY if fn.kind not in statements}
    assert all(PLANNERS[fn] is table[fn] for table in families for fn in table)
    mins = [PLANNERS[fn] for fn in OVERLOADS["min"]]
    assert mins[0] is not mins[1]  # the aggregate and the scalar minimum


_FAMILY_MODULES = ("ops", "scalar", "stream", "vecfuncs", "deadman", "shift", "forecast", "alert")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    found |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    return found


@pytest.mark.parametrize("name", _FAMILY_MODULES)
def test_family_modules_import_the_leaf_not_the_planner(name: str) -> None:
    """No import cycle through plan.py: families plan against ops.py's Protocols."""
    engine_dir = Path(plan.__file__).parent
    assert "kapacitor.engine.plan" not in _imports(engine_dir / f"{name}.py")
    code = f"import kapacitor.engine.{name}"  # standalone, in a fresh interpreter
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_family_planner_plans_against_the_context_alone() -> None:
    """A family planner sees the planner only as a PlanContext: a stand-in will do."""
    checked = compile_script("alert(max(top(window(x, 10), 3)), >, 1)")
    alert_call = checked.script.statements[0]
    assert isinstance(alert_call, Call) and isinstance(alert_call.args[0], Call)
    top = alert_call.args[0].args[0]
    assert isinstance(top, Call)
    emitted: list[tuple[Operator, Kind | None]] = []

    class Context:
        def __init__(self) -> None:
            self.checked = checked

        def emit(self, op: Operator, kind: Kind | None) -> int:
            emitted.append((op, kind))
            return len(emitted) - 1

        def kind(self, col: int) -> Kind:
            kind = emitted[col][1] if col < len(emitted) else Kind.VEC
            assert kind is not None
            return kind

        def op(self, col: int) -> Operator:
            return emitted[col][0]

        def expr(self, node: Expr) -> int:
            return 99  # the window: a column planned elsewhere

        def scalar(self, node: Expr, *allowed: Kind) -> int:
            return 99

        def field(self, name: str) -> int:
            return 99

        def field_type(self, name: str) -> str:
            return "number"

    col = vecfuncs.plan_vector(Context(), top, checked.call(top))
    assert col == 0
    assert emitted == [(VecOp("top", 99, 3), Kind.VEC)]
