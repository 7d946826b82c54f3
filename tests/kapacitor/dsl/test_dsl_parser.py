"""The parser: trees, precedence, printing round trips, syntax errors, the EBNF in the docs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapacitor.dsl.ast import (
    Binary,
    Bool,
    Call,
    Duration,
    Expr,
    Ident,
    Keyword,
    Let,
    List,
    Number,
    OpRef,
    Regex,
    Script,
    String,
    Unary,
)
from kapacitor.dsl.parser import grammar_ebnf, grammar_rules, parse
from kapacitor.dsl.tokens import KEYWORDS
from kapacitor.errors import DslError, DslSyntaxError, Span

ROOT = Path(__file__).resolve().parents[3]

VALID = [
    'alert(x, <, 3, notify=[handler("slack", channel="#ops"),\n'
    '  handler("post", headers=["A: b"])])\n[]',
    "alert(avg(window(value, 10)), <, 30)",
    "let a = avg(window(usage_idle, 5m, every=1m, align=true))\nalert(a, <=, 30, message='low')",
    "let w = window(value, 100); alert(percentile(w, 99), >, 2 * avg(w) + 1)",
    'alert(max(window(field("disk used %"), 1h)), >=, 90, level="warning")',
    "# comment\nlet up = host =~ /^web\\/[0-9]+$/ && !(down or false)\n// other\n",
    "alert(-x % 3 - -1.5e-3, !=, .5)",
    "alert(now() - time(), >, 1h30m)",
]


def test_the_example_tree() -> None:
    script = parse("alert(avg(window(value, 10)), <, 30)")
    assert script == Script(
        (
            Call(
                "alert",
                (
                    Call("avg", (Call("window", (Ident("value"), Number(10))),)),
                    OpRef("<"),
                    Number(30),
                ),
            ),
        )
    )
    call = script.statements[0]
    assert isinstance(call, Call)
    assert call.span == Span(1, 1, 36)
    assert call.args[1].span == Span(1, 31, 1)


def test_let_keywords_and_literals() -> None:
    script = parse('let a = f(x, 5m, every=1m, s="q\'", r=/a/, b=true)\n\ng(a, >=)')
    let, call = script.statements
    assert isinstance(let, Let) and let.name == "a" and let.span == Span(1, 1, 49)
    assert let.value == Call(
        "f",
        (Ident("x"), Duration(300 * 10**9, "5m")),
        (
            Keyword("every", Duration(60 * 10**9, "1m")),
            Keyword("s", String("q'")),
            Keyword("r", Regex("a")),
            Keyword("b", Bool(True)),
        ),
    )
    assert call == Call("g", (Ident("a"), OpRef(">=")))
    with pytest.raises(DslSyntaxError, match="unexpected '>='"):
        parse("g(a, op=>=)")  # an operator is only a positional argument


@pytest.mark.parametrize(
    ("source", "printed"),
    [
        ("a or b and c", "(a or (b and c))"),
        ("a || b && c", "(a or (b and c))"),
        ("not a == b", "(not (a == b))"),
        ("!a == b", "(not (a == b))"),
        ("not a and b", "((not a) and b)"),
        ("a == b and c < d", "((a == b) and (c < d))"),
        ("a + b * c - d", "((a + (b * c)) - d)"),
        ("a - b - c", "((a - b) - c)"),
        ("a / b % c", "((a / b) % c)"),
        ("-a * b", "((-a) * b)"),
        ("- -a", "(-(-a))"),
        ("(a + b) * c", "((a + b) * c)"),
        ("a + b < c * d", "((a + b) < (c * d))"),
        ("s =~ /x/ or s !~ /y/", "((s =~ /x/) or (s !~ /y/))"),
    ],
)
def test_precedence(source: str, printed: str) -> None:
    assert str(parse(source)) == printed


def test_statement_separators() -> None:
    assert len(parse("a\nb;c\n\n;;d\n").statements) == 4
    assert parse("").statements == ()
    assert parse("# nothing\n").statements == ()
    assert str(parse("f(a,\n  b)\nlet x = 1 +\n 2")) == "f(a, b)\nlet x = (1 + 2)"


@pytest.mark.parametrize(
    ("source", "message", "where"),
    [
        ("alert(x, <, 30", "unexpected end of script: missing ')' to close the '(' at 1:6", "1:15"),
        ("alert(x, <, 30))", "unexpected ')': no '(' to close", "1:16"),
        ("f(x,)", "unexpected ')': expected an argument after ','", "1:5"),
        ("f(,)", "unexpected ',': expected an argument before it", "1:3"),
        (
            "x = 3",
            "unexpected '=': use '==' to compare (named arguments are only allowed in calls)",
            "1:3",
        ),
        ("a < b < c", "unexpected '<': comparisons do not chain, write (a < b) and (b < c)", "1:7"),
        (
            "let x = a\n + b",
            "unexpected '+': a line cannot start with an operator; end the previous line with it",
            "2:2",
        ),
        ("f(a b)", "unexpected 'b': missing ',' or an operator before it?", "1:5"),
        (
            "f(x) g(y)",
            "unexpected 'g': missing an operator before it, or a ';' or newline between "
            "statements?",
            "1:6",
        ),
        ("let = 3", "unexpected '=': expected a name after 'let'", "1:5"),
        ("let x =", "unexpected end of script: expected an expression after '='", "1:8"),
        ("x +", "unexpected end of script: expected an expression after '+'", "1:4"),
        ("a +* b", "unexpected '*': expected an expression after '+'", "1:4"),
        (
            "f(every=1, 2)",
            "positional argument after named argument 'every=': put positional arguments first",
            "1:12",
        ),
        ("f(a=1, a=2)", "f() got the named argument 'a' twice", "1:8"),
        ("f([1, 2)", "unexpected ')': missing ']' to close the '[' at 1:3", "1:8"),
        ("f(1]", "unexpected ']': missing ')' to close the '(' at 1:2", "1:4"),
        ("[1,]", "unexpected ']': expected an item after ','", "1:4"),
        ("1]", "unexpected ']': no '[' to close", "1:2"),
        ("f([1,\n2", "unexpected end of script: missing ']' to close the '[' at 1:3", "2:2"),
        ("f(x <)", "unexpected ')': expected an expression after '<'", "1:6"),
        ("a = = b", "unexpected '='", "1:3"),
        (
            "-" * 150 + "x",
            "expression nested too deeply (more than 100 levels): split it with let bindings",
            "1:51",
        ),
    ],
)
def test_syntax_errors(source: str, message: str, where: str) -> None:
    with pytest.raises(DslSyntaxError) as info:
        parse(source)
    assert info.value.message.startswith(message)
    assert str(info.value.span) == where
    assert info.value.source == source


def test_render_shows_the_line_and_a_caret() -> None:
    with pytest.raises(DslSyntaxError) as info:
        parse("let a = 1\nalert(a, <, 30))\n")
    assert info.value.render("p.kap") == (
        "p.kap:2:16: unexpected ')': no '(' to close\n  alert(a, <, 30))\n                 ^"
    )


@pytest.mark.parametrize("source", VALID)
def test_printing_round_trips(source: str) -> None:
    tree = parse(source)
    again = parse(str(tree))
    assert again == tree
    assert str(again) == str(tree)


# --- hypothesis: random trees print and parse back; random text never crashes ---------------

_names = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True).filter(lambda n: n not in KEYWORDS)
_units = st.sampled_from(["ns", "us", "ms", "s", "m", "h", "d", "w"])


def _leaves() -> st.SearchStrategy[Expr]:
    return st.one_of(
        _names.map(Ident),
        st.integers(0, 2**63 - 1).map(Number),
        st.floats(0, 1e300, allow_nan=False, allow_infinity=False).map(Number),
        st.text(max_size=8).map(String),
        st.booleans().map(Bool),
        st.tuples(st.integers(1, 10**4), _units).map(lambda p: Duration(0, f"{p[0]}{p[1]}")),
        st.sampled_from(["a", "^web/[0-9]+$", "x|y", "(?i)a.b", "\\d+", "[/]"]).map(Regex),
    )


def _extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    ops = ["+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "=~", "!~", "and", "or"]
    arg = st.one_of(children, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]).map(OpRef))
    return st.one_of(
        st.tuples(st.sampled_from(ops), children, children).map(lambda t: Binary(*t)),
        st.tuples(st.sampled_from(["-", "not"]), children).map(lambda t: Unary(*t)),
        st.builds(
            lambda name, args, kws: Call(
                name, tuple(args), tuple(Keyword(k, v) for k, v in dict(kws).items())
            ),
            _names,
            st.lists(arg, max_size=3),
            st.lists(st.tuples(_names, children), max_size=2),
        ),
        st.lists(children, max_size=3).map(lambda items: List(tuple(items))),
    )


_exprs = st.recursive(_leaves(), _extend, max_leaves=12)
_statements = st.one_of(_exprs, st.builds(Let, _names, _exprs))


# cheap per example: wide trees need many to cover the grammar
@settings(max_examples=settings.default.max_examples * 3)
@given(st.lists(_statements, max_size=4))
def test_random_trees_print_and_parse_back(statements: list[Expr | Let]) -> None:
    # Generated durations carry ns=0, so trees are compared after a first parse.
    script = Script(tuple(statements))
    once = parse(str(script))
    assert str(once) == str(script)
    twice = parse(str(once))
    assert twice == once
    assert str(twice) == str(once)


def _mutate(data: st.DataObject, source: str) -> str:
    text = source
    alphabet = "()[],;=<>!~+-*/%&|#'\"\\\n .e0123456789abcxyzµ_λ\t\r\x00"
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(text)))
        if data.draw(st.booleans()) and text:
            end = data.draw(st.integers(pos, min(len(text), pos + 3)))
            text = text[:pos] + text[end:]
        else:
            text = text[:pos] + data.draw(st.text(alphabet, min_size=1, max_size=3)) + text[pos:]
    return text


def _parses_or_dsl_error(text: str) -> None:
    try:
        tree = parse(text)
    except DslError as exc:
        assert exc.span.line >= 1 and exc.span.col >= 1
        exc.render()
        return
    again = parse(str(tree))
    assert again == tree and str(again) == str(tree)


# cheap per example: random text needs many to reach deep syntax
@settings(max_examples=settings.default.max_examples * 5)
@given(st.data())
def test_mutated_scripts_parse_or_raise_dsl_errors(data: st.DataObject) -> None:
    _parses_or_dsl_error(_mutate(data, data.draw(st.sampled_from(VALID))))


# cheap per example: random text needs many to reach deep syntax
@settings(max_examples=settings.default.max_examples * 5)
@given(st.text(max_size=60))
def test_random_text_parses_or_raises_dsl_errors(text: str) -> None:
    _parses_or_dsl_error(text)


# --- the EBNF in docs/language.md is the parser's grammar -----------------------------------


def _rules(ebnf: str) -> dict[str, str]:
    text = re.sub(r"\(\*.*?\*\)", "", ebnf, flags=re.S)
    rules: dict[str, str] = {}
    for m in re.finditer(r"^(\w+)\s*=(.*?);\s*$", text, flags=re.S | re.M):
        rules[m.group(1)] = " ".join(m.group(2).split())
    return rules


def test_docs_ebnf_matches_the_parser() -> None:
    doc = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```ebnf\n(.*?)```", doc, flags=re.S)
    assert len(blocks) == 1, "docs/language.md must hold exactly one ```ebnf block"
    documented, generated = _rules(blocks[0]), _rules(grammar_ebnf())
    for name in generated:
        assert documented.get(name) == generated[name], f"rule {name} differs"
    assert documented.keys() == generated.keys()
    assert set(grammar_rules()) <= documented.keys()
    assert blocks[0] == grammar_ebnf()  # and, byte for byte, the same text


def test_ebnf_command_line() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "kapacitor.dsl.parser", "--ebnf"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert out.stdout == grammar_ebnf()
