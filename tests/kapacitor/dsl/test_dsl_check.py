"""The checker: name resolution, types, bound calls, constants, warnings and type errors."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings

from kapacitor.dsl import check as check_module
from kapacitor.dsl.ast import Binary, Call, Expr, Ident, Let, Number
from kapacitor.dsl.check import CheckedScript, check
from kapacitor.dsl.check_context import CheckContext, FieldVar
from kapacitor.dsl.compile import compile_script
from kapacitor.dsl.functions import FUNCTIONS, lookup
from kapacitor.dsl.parser import parse
from kapacitor.dsl.types import Type
from kapacitor.dsl.vector_check import EXTRA_CHECKS as VECTOR_CHECKS
from kapacitor.errors import DslError, DslTypeError, Span
from kapacitor.testing.scripts import mutated_scripts


def first_call(checked: CheckedScript, index: int = 0) -> Call:
    statement = checked.script.statements[index]
    node = statement.value if isinstance(statement, Let) else statement
    assert isinstance(node, Call)
    return node


def test_the_example_checks_and_types_every_node() -> None:
    checked = compile_script("alert(avg(window(value, 10)), <, 30)")
    alert = first_call(checked)
    assert checked.alerts == (alert,)
    avg = alert.args[0]
    assert isinstance(avg, Call)
    window = avg.args[0]
    assert isinstance(window, Call)
    assert checked.type_of(alert) == Type.ALERT
    assert checked.type_of(avg) == Type.FLOAT
    assert checked.type_of(window) == Type.VECTOR
    assert checked.type_of(window.args[0]) == Type.NUMBER
    assert checked.type_of(window.args[1]) == Type.INT
    assert checked.type_of(alert.args[1]) == Type.OP
    assert checked.fields == {"value": Type.NUMBER}
    assert checked.field_name(window.args[0]) == "value"
    bound = checked.call(window)
    assert bound.function is lookup("window")
    assert bound.arg("size") is window.args[1]
    assert bound.arg("every") is None
    assert checked.constant(window.args[1]) == 10
    assert checked.constant(alert.args[1]) == "<"
    assert checked.warnings == ()


def test_lets_bind_and_aliases_resolve() -> None:
    src = "let w = window(cpu, 5m, every=1m)\nlet a = mean(w)\nalert(a, <, 30, level='warning')"
    checked = compile_script(src)
    alert = first_call(checked, 2)
    a = alert.args[0]
    assert isinstance(a, Ident)
    assert checked.binding(a) is checked.lets["a"]
    mean = first_call(checked, 1)
    assert checked.call(mean).function.name == "avg"  # the engine implements canonical names
    window = first_call(checked, 0)
    assert checked.constant(window) is None
    assert checked.constant(checked.call(window).args["size"]) == 300 * 10**9
    assert checked.type_of(a) == Type.FLOAT


def test_field_types_are_inferred_from_use() -> None:
    checked = compile_script(
        'let web = host =~ /^web/ and up\nalert(value * 2, >, 10)\nalert(field("disk %"), >, 1)\n'
        'let x = web and name == "n"'
    )
    assert checked.fields == {
        "disk %": Type.NUMBER,
        "host": Type.STRING,
        "name": Type.STRING,
        "up": Type.BOOL,
        "value": Type.NUMBER,
    }
    regex = checked.script.statements[0]
    assert isinstance(regex, Let) and isinstance(regex.value, Binary)
    match = regex.value.left
    assert isinstance(match, Binary)
    assert isinstance(checked.constant(match.right), re.Pattern)


def test_tags_are_collected() -> None:
    checked = compile_script('alert(v, >, 1, message="on " + tag("host"))')
    assert checked.tags == {"host"}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 + 2", Type.INT),
        ("1 + 2.0", Type.FLOAT),
        ("4 / 2", Type.FLOAT),
        ("7 % 2", Type.INT),
        ("x + 1", Type.FLOAT),
        ("-x", Type.NUMBER),
        ("-1", Type.INT),
        ("5m + 1s", Type.DURATION),
        ("5m * 2", Type.DURATION),
        ("2 * 5m", Type.DURATION),
        ("5m / 2", Type.DURATION),
        ("5m / 1m", Type.FLOAT),
        ("now() - time()", Type.DURATION),
        ("time() + 1s", Type.TIME),
        ('"a" + "b"', Type.STRING),
        ("1 < 2.5", Type.BOOL),
        ("true == false", Type.BOOL),
        ("not (1m > 5s)", Type.BOOL),
        ("count(window(x, 3))", Type.INT),
        ("abs(-3)", Type.FLOAT),
    ],
)
def test_expression_types(source: str, expected: Type) -> None:
    checked = compile_script(source, require_alert=False)
    assert checked.result_type == expected


@pytest.mark.parametrize(
    ("source", "message", "where"),
    [
        (
            "alert(agv(window(value, 10)), <, 30)",
            "unknown function 'agv': did you mean avg?",
            "1:7",
        ),
        ("alert(foo(x), <, 30)", "unknown function 'foo'", "1:7"),
        (
            "alert(avg(value), <, 30)",
            "avg expects a vector, got a scalar: did you mean avg(window(value, N))?",
            "1:11",
        ),
        (
            "alert(x, <)",
            "alert() takes 3 arguments, got 2: alert(value: number | bool | duration, op: op",
            "1:1",
        ),
        ("alert(x, <, 3, 4)", "alert() takes 3 arguments, got 4", "1:16"),
        ("alert(sqrt(), <, 3)", "sqrt() takes 1 argument, got 0", "1:7"),
        (
            "alert(x, <, 3, mesage='m')",
            "alert() has no argument 'mesage': did you mean message?",
            "1:16",
        ),
        (
            "alert(x, <, 3, threshold=4)",
            "alert() got 'threshold' twice, by position and by name",
            "1:16",
        ),
        ("alert(x, <, 3, message=5)", "alert() expects a string for 'message', got an int", "1:24"),
        (
            "alert(x, <, 5m)",
            "alert() compares its value (a number) with its threshold (a duration): "
            "the threshold must be a number",
            "1:13",
        ),
        (
            "alert(x, <, <)",
            "alert() expects a number or a bool or a duration for 'threshold', got a comparison "
            "operator",
            "1:13",
        ),
        ("alert(x, 3, 3)", "alert() expects a comparison operator for 'op', got an int", "1:10"),
        (
            "alert(x, <, 1, level='crit')",
            "unknown alert level 'crit': did you mean \"critical\"?",
            "1:22",
        ),
        ("alert(x, <, 1, level=critical)", 'level= takes a string: write level="critical"', "1:22"),
        (
            "alert(avg(window(v, 10, every=1m)), <, 1)",
            "every= must be of the same kind as the size: an int (a number of points)",
            "1:31",
        ),
        (
            "alert(avg(window(v, 10, align=true)), <, 1)",
            "align= only applies to time windows (a duration size)",
            "1:31",
        ),
        ("alert(avg(window(v, 0)), <, 1)", "window size must be positive", "1:21"),
        (
            "alert(avg(window(v, n)), <, 1)",
            "'size' of window() must be known when the script is defined",
            "1:21",
        ),
        (
            "alert(avg(window(v, 2.5)), <, 1)",
            "window() expects an int or a duration for 'size', got a float",
            "1:21",
        ),
        (
            "alert(percentile(window(v, 9), 101), <, 1)",
            "percentile must be between 0 and 100",
            "1:32",
        ),
        (
            "alert(window(x, 10) + 1, >, 1)",
            "cannot apply '+' to a vector and an int: aggregate the window first",
            "1:7",
        ),
        ("alert(x, >, 1 + 'a')", "cannot apply '+' to an int and a string", "1:13"),
        (
            "alert(x, >, 1) and true",
            "'and' expects bool operands, got an alert: alert() must be a statement of its own",
            "1:1",
        ),
        (
            "let a = alert(x, <, 1)",
            "alert() cannot be bound with let: write it as a statement of its own",
            "1:9",
        ),
        (
            "let a = b + 1\nlet b = 2\nalert(a, <, 3)",
            "'b' is bound by the let at 2:5, after this use",
            "1:9",
        ),
        ("let x = 1 ; let x = 2\nalert(x, <, 1)", "'x' is already bound by the let at 1:5", "1:17"),
        ("let x = 1\nalert(x(1), <, 3)", "'x' is a let binding, not a function", "2:7"),
        (
            "let h = host =~ /^web/\nalert(host, >, 2)",
            "field 'host' is used as a number or a bool here, but as a string at 1:9",
            "2:7",
        ),
        (
            "alert(x, <, 1)\nlet b = x == 'a'",
            "field 'x' is used as a string here, but as a number at 1:7",
            "2:9",
        ),
        ("alert(-'a', <, 1)", "'-' expects a number or a duration, got a string", "1:8"),
        ("alert(x, <, 1)\nlet y = 1 < 'a'", "cannot compare an int with a string using '<'", "2:9"),
        (
            "alert(x, <, 1)\nlet y = 'a' =~ 'a'",
            "the right side of '=~' must be a regex such as /^web/, got a string",
            "2:16",
        ),
        (
            "alert(x, <, 1)\nlet y = /a/ + 1",
            "cannot apply '+' to a regex and an int: a regex can only be matched",
            "2:9",
        ),
        (
            "alert(x, <, 1)\nlet y = true < false",
            "cannot compare a bool with a bool using '<'",
            "2:9",
        ),
        ("alert(tag(''), <, 1)", "tag() needs a non-empty name", "1:11"),
        (
            "avg(window(value, 10))",
            "no alert() in script: a script must raise at least one alert(value, op, threshold)",
            "1:1",
        ),
        ("", "no alert() in script", "1:1"),
        (
            'alert(x, >, 90, level="warning", warn=80)',
            "warn= adds a level below the alert's own, but this alert is warning",
            "1:39",
        ),
        (
            "alert(x, >, 90, info=true)",
            "info= of this alert is a threshold like 90, got a bool",
            "1:22",
        ),
        (
            "alert(now() - time(), >, 1m, warn=30)",
            "warn= of this alert is a threshold like 1m, got an int",
            "1:35",
        ),
        (
            "alert(x > 1, ==, true, warn=5)",
            "warn= of this alert is a condition (a bool), got an int",
            "1:29",
        ),
        (
            "alert(x, >, 9, warning=8)",
            "alert() has no argument 'warning': alert(",
            "1:16",
        ),
    ],
)
def test_check_errors(source: str, message: str, where: str) -> None:
    with pytest.raises(DslTypeError) as info:
        compile_script(source)
    assert info.value.message.startswith(message), info.value.message
    assert str(info.value.span) == where
    assert info.value.source == source
    assert info.value.render()


def test_warnings() -> None:
    checked = compile_script(
        "let cpu_idle = 3\nlet unused = 1\nalert(cpu_idel, <, cpu_idle)\nx + 1"
    )
    messages = [w.message for w in checked.warnings]
    assert messages == [
        "'cpu_idel' reads a field of the point: did you mean the let 'cpu_idle'?",
        "this value is not used: bind it with let, or pass it to alert()",
        "'unused' is never used",
    ]
    assert str(checked.warnings[0].span) == "3:7"


def test_a_let_may_rescale_the_field_it_shadows() -> None:
    checked = compile_script("let value = value * 100\nalert(value, >, 90)")
    let = checked.lets["value"]
    assert isinstance(let.value, Binary)
    assert checked.field_name(let.value.left) == "value"
    alert = first_call(checked, 1)
    assert checked.binding(alert.args[0]) is let  # type: ignore[arg-type]


def test_level_is_case_insensitive_and_constants_flow_through_lets() -> None:
    compile_script("let n = 10\nalert(avg(window(v, n)), <, 1, level='WARNING')")
    compile_script("let n = -1\nalert(v, <, n)")


def test_expression_mode_allows_no_alert() -> None:
    checked = check(parse("host =~ /^web/"), "host =~ /^web/", require_alert=False)
    assert checked.result_type == Type.BOOL
    assert checked.warnings == ()
    assert compile_script("", require_alert=False).result_type is None


def test_every_registered_function_name_resolves() -> None:
    for name, fn in FUNCTIONS.items():
        assert lookup(name) is fn


def test_checker_errors_are_dsl_errors_for_every_valid_parse() -> None:
    # Scripts that parse but fail to check raise DslError, never anything else.
    for source in ["f()", "alert()", "window()", "alert(1, <, 2, level=3)", "avg(1, 2)", "tag(x)"]:
        with pytest.raises(DslError):
            compile_script(source)


_SCRIPTS = [
    "let w = window(value, 5m, every=1m)\nalert(avg(w) - stddev(w), <, 30, message='low')",
    "let web = host =~ /^web/\nalert(percentile(window(field('t'), 100), 99.5), >, 2)",
    "alert(now() - time(), >=, 30s, level='info')\nalert(abs(round(x) % 3), !=, 1)",
]


# cheap per example, and mutations need many tries to reach the checker
@settings(max_examples=settings.default.max_examples * 4)
@given(mutated_scripts(_SCRIPTS))
def test_compile_never_raises_anything_but_dsl_errors(text: str) -> None:
    try:
        checked = compile_script(text)
    except DslError as exc:
        assert exc.span.line >= 1
        return
    for statement in checked.script.statements:
        node = statement.value if isinstance(statement, Let) else statement
        assert isinstance(checked.type_of(node), Type)


# -- the per-function checks see the checker through CheckContext ---------------------------

_CHECK_MODULES = ("check_context", "scalar_check", "stream_check", "vector_check", "alert_check")


@pytest.mark.parametrize("name", _CHECK_MODULES)
def test_extra_checks_do_not_import_the_checker(name: str) -> None:
    """No import cycle with check.py: the checks know only the CheckContext Protocol."""
    path = Path(check_module.__file__).with_name(f"{name}.py")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "kapacitor.dsl.check" not in imported
    subprocess.run([sys.executable, "-c", f"import kapacitor.dsl.{name}"], check=True)


def test_an_extra_check_runs_against_any_check_context() -> None:
    """A stand-in context is enough to run a check: it asks for constants and fails through
    the context's error()."""

    class Context:
        def error(self, message: str, span: Span) -> DslTypeError:
            return DslTypeError(message, span, "src")

        def type_of(self, node: Expr) -> Type | FieldVar:
            return Type.INT

        def constant(self, node: Expr) -> object | None:
            return 0

        def field_name(self, node: Expr) -> str | None:
            return None

        def decided(self, field: str) -> Type | None:
            return None

        def same_family(self, t: Type) -> Type:
            return t

        def coerce(self, t: Type | FieldVar, allowed: Type, span: Span) -> Type | None:
            return None

        def shown(self, t: Type | FieldVar) -> str:
            return "an int"

    ctx: CheckContext = Context()
    n = Number(0, span=Span(1, 20, 1))
    call = Call("top", (Ident("w"), n))
    with pytest.raises(DslTypeError, match=r"top\(\) needs n > 0, got 0") as info:
        VECTOR_CHECKS["top"](ctx, call, {"v": Ident("w"), "n": n})
    assert info.value.span == Span(1, 20, 1)
