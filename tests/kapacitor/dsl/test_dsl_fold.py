"""Constant folding (kapacitor/dsl/fold.py): constant expressions where constants are wanted,
the same arithmetic as the engine, and errors for constants that can have no value."""

from __future__ import annotations

import re

import pytest

from kapacitor.dsl.ast import Call, Let
from kapacitor.dsl.compile import compile_script
from kapacitor.engine import build_program
from kapacitor.errors import DslTypeError

SECOND = 1_000_000_000


def let_value(source: str, name: str = "c") -> object:
    checked = compile_script(source, require_alert=False)
    let = checked.lets[name]
    return checked.constant(let.value)


@pytest.mark.parametrize(
    ("expr", "value"),
    [
        ("2 * 5", 10),
        ("7 / 2", 3.5),
        ("-7 % 3", -1),
        ("7 % -3", 1),
        ("7.5 % 2", 1.5),
        ("1 + 0.5", 1.5),
        ("-(3)", -3),
        ("1m + 30s", 90 * SECOND),
        ("2 * 1m", 120 * SECOND),
        ("1m * 1.5", 90 * SECOND),
        ("1h / 4", 900 * SECOND),
        ("1h / 30m", 2.0),
        ("1h % 25m", 600 * SECOND),
        ("-1m", -60 * SECOND),
        ('"a" + "b"', "ab"),
        ("1 < 2", True),
        ("1m >= 60s", True),
        ('"b" < "a"', False),
        ("not (1 == 1)", False),
        ("true and not false", True),
        ("false or 1 != 1", False),
    ],
)
def test_constant_expressions_fold(expr: str, value: object) -> None:
    got = let_value(f"let c = {expr}\nc")
    assert got == value
    assert type(got) is type(value)


def test_lets_of_constants_are_constants() -> None:
    assert let_value("let n = 10\nlet c = n * 2 + 1\nc") == 21


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("1 / 0", "division by zero in (1 / 0)"),
        ("5 % (2 - 2)", "division by zero"),
        ("1m / 0", "division by zero"),
        ("1m % 0s", "division by zero"),
        ("9223372036854775807 + 1", "the result overflows 64 bits"),
        ("1e308 * 10", "not a finite number"),
        ("106751d * 2", "the duration overflows 64 bits"),
    ],
)
def test_constants_without_a_value_are_errors(expr: str, message: str) -> None:
    with pytest.raises(DslTypeError, match=re.escape(message)) as info:
        compile_script(f"let c = {expr}\nc", require_alert=False)
    assert (info.value.span.line, info.value.span.col) == (1, 9)


def plan(source: str) -> str:
    return str(build_program(compile_script(source)))


@pytest.mark.parametrize(
    ("folded", "literal"),
    [
        ("let n = 5\nalert(avg(window(x, 2 * n)), <, 1)", "alert(avg(window(x, 10)), <, 1)"),
        ("let d = 1m\nalert(avg(window(x, d + 30s)), <, 1)", "alert(avg(window(x, 90s)), <, 1)"),
        (
            "let s = 10s\nalert(count(window(x, 6 * s, every=s, align=true)), <, 1)",
            "alert(count(window(x, 1m, every=10s, align=true)), <, 1)",
        ),
        ("let p = 90\nalert(percentile(window(x, 10), p + 5), >, 1)", None),
        ("let t = 30\nalert(x, <, t * 2)", "alert(x, <, 60)"),
        ("let lim = -5\nalert(x, <, lim)", "alert(x, <, -5)"),
        ("let u = 1m\nalert(derivative(x, unit=u), >, 0)", "alert(derivative(x, unit=1m), >, 0)"),
        ("let n = 3\nalert(moving_average(x, n), >, 0)", "alert(moving_average(x, 3), >, 0)"),
        ('let lvl = "warn" + "ing"\nalert(x, >, 0, level=lvl)', 'alert(x, >, 0, level="warning")'),
        (
            'let web = /^web/\nalert(tag("host") =~ web, ==, true)',
            'alert(tag("host") =~ /^web/, ==, true)',
        ),
    ],
)
def test_constants_plan_as_literals(folded: str, literal: str | None) -> None:
    text = plan(folded)
    if literal is not None:
        assert text == plan(literal)
    else:
        assert "p=95" in text


def test_folding_keeps_the_written_tree_and_spans() -> None:
    """The written tree is never rewritten: each constant is a fact at its written node,
    with that node's span, and the planner reads it there."""
    checked = compile_script("let n = 5\nalert(avg(window(x, 2 * n)), <, 1)")
    stmt = checked.script.statements[1]
    assert str(stmt) == "alert(avg(window(x, (2 * n))), <, 1)"
    assert isinstance(stmt, Call)
    size = stmt.args[0]
    assert isinstance(size, Call) and isinstance(size.args[0], Call)
    size_node = size.args[0].args[1]
    assert checked.constant(size_node) == 10
    assert (size_node.span.line, size_node.span.col) == (2, 21)
    assert checked.call(size.args[0]).args["size"] is size_node
    assert isinstance(checked.script.statements[0], Let)
    assert "window.count %0 n=10" in plan(checked.source)


def test_non_constant_in_a_constant_position_still_names_it() -> None:
    with pytest.raises(DslTypeError, match="'size' of window\\(\\) must be known") as info:
        compile_script("alert(avg(window(x, 2 * int(y))), <, 1)")
    assert info.value.span.col == 21
