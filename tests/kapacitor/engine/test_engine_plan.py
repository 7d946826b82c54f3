"""Planning: printed plans, sharing, dead lets, and the errors for what cannot run."""

from __future__ import annotations

import dataclasses

import pytest
from engine_testkit import SECOND, agg, alert, script, win
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
    String,
)
from kapacitor.dsl.compile import compile_script
from kapacitor.dsl.functions import OVERLOADS
from kapacitor.engine import build_program
from kapacitor.errors import DslError, DslTypeError, Span
from kapacitor.testing.scripts import PIECES, mutated_scripts


def test_r1_plan_prints_one_operator_per_line() -> None:
    prog = build_program(script(alert(agg("avg", win("usage_idle", 10)), "<", 30)))
    assert str(prog) == (
        "%0 = field usage_idle\n"
        "%1 = window.count %0 n=10\n"
        "%2 = agg.avg %1\n"
        "%3 = alert %2 < 30 level=CRITICAL"
    )


def test_time_window_and_options_print() -> None:
    prog = build_program(
        script(alert(agg("mean", win("x", "10s")), ">=", 2.5, level="warning", message="hi {host}"))
    )
    assert str(prog).splitlines()[1:] == [
        "%1 = window.time %0 span=10s",
        "%2 = agg.avg %1",
        '%3 = alert %2 >= 2.5 level=WARNING message="hi {host}"',
    ]


def test_shared_subexpressions_and_lets_are_planned_once() -> None:
    prog = build_program(
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
    prog = build_program(
        script(
            alert(agg("percentile", win("x", 10), Number(95)), ">", agg("avg", win("x", 10))),
            alert(Ident("x"), "<", 0),
        )
    )
    assert "agg.percentile %1 p=95" in str(prog)
    assert [a.index for a in prog.alerts] == [0, 1]
    assert prog.alerts[0].threshold_col is not None


def test_math_time_and_duration_values() -> None:
    prog = build_program(
        script(
            alert(Binary("-", Call("now"), Call("time")), ">", Duration(30 * SECOND, "30s")),
            alert(Call("abs", (Call("field", (String("disk used"),)),)), ">", 1),
        )
    )
    assert "math.abs" in str(prog) and "field disk used" in str(prog)
    assert prog.alerts[0].threshold == 30 * SECOND


BAD = [
    (script(alert(win("x", 10), "<", 3)), "expected a number"),
    (script(alert(agg("avg", Ident("x")), "<", 3)), "needs a window"),
    (script(alert(agg("agv", win("x", 3)), "<", 3)), "unknown function"),
    (script(alert(agg("avg", win("x", 0)), "<", 3)), "size must be"),
    (script(alert(agg("avg", win("x", Number(2.5))), "<", 3)), "whole number"),
    (script(alert(agg("percentile", win("x", 3), Number(101)), "<", 3)), "between 0 and 100"),
    (script(alert(Ident("x"), "=~", 3)), "comparison"),
    (script(alert(Ident("x"), "<", 3, level="PANIC")), "level="),
    (script(agg("avg", win("x", 3))), "no effect"),
    (script(Let("a", alert(Ident("x"), "<", 3))), "cannot be bound"),
    (script(Let("a", Ident("x"))), "no alert"),
    (script(alert(Binary("+", Ident("x"), String("s")), "<", 3)), "a string"),
    (script(alert(Binary("and", Ident("x"), Ident("y")), "==", 3)), "expected a bool"),
]


@pytest.mark.parametrize(("scr", "fragment"), BAD)
def test_unplannable_scripts_raise_dsl_errors(scr: object, fragment: str) -> None:
    with pytest.raises(DslTypeError, match=fragment):
        build_program(scr)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [
        ("every", Number(2), "every= of a time window is a duration"),
        ("align", Duration(SECOND, "1s"), "align= needs true or false"),
        ("evry", Duration(SECOND, "1s"), "has no option evry="),
    ],
)
def test_bad_window_options_carry_the_span(option: str, value: Expr, fragment: str) -> None:
    value = dataclasses.replace(value, span=Span(1, 30, 5))
    kw = Keyword(option, value, span=Span(1, 30, 5))
    call = Call("window", (Ident("x"), Duration(10 * SECOND, "10s")), (kw,))
    scr = script(Call("alert", (Call("avg", (call,)), OpRef("<"), Number(3))))
    with pytest.raises(DslError, match=fragment) as info:
        build_program(scr)
    assert info.value.span == Span(1, 30, 5)


def test_window_options_are_planned() -> None:
    every = Keyword("every", Duration(5 * SECOND, "5s"))
    align = Keyword("align", Bool(True))
    call = Call("window", (Ident("x"), Duration(10 * SECOND, "10s")), (every, align))
    scr = script(Call("alert", (Call("avg", (call,)), OpRef("<"), Number(3))))
    assert "%1 = window.time %0 span=10s every=5s align" in str(build_program(scr))


@pytest.mark.parametrize("name", sorted(OVERLOADS))
def test_every_documented_example_plans(name: str) -> None:
    """Each function's example in docs/language.md runs through the planner, not just the
    checker: nothing the checker accepts is left for the engine to refuse."""
    for fn in OVERLOADS[name]:
        assert build_program(compile_script(fn.example)).alerts or fn.name == "deadman"


_CORPUS = sorted({fn.example for fns in OVERLOADS.values() for fn in fns})


# cheap per example, and mutations need many tries to reach the planner
@settings(max_examples=settings.default.max_examples * 4)
@given(mutated_scripts(_CORPUS, (*PIECES, "warn=", "tz=", "2 *")))
def test_checked_scripts_plan_or_fail_with_a_dsl_error(text: str) -> None:
    """Mutations of every documented example: whatever the checker accepts, the planner plans
    or rejects with a DslError at a position; nothing else escapes."""
    try:
        build_program(compile_script(text))
    except DslError as exc:
        assert exc.span.line >= 1
