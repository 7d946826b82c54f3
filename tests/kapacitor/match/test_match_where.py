"""Parsing and printing of where clauses, and the exact errors of bad ones."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapacitor.errors import DslError, DslSyntaxError, DslTypeError, Span
from kapacitor.match.where import (
    MAX_DEPTH,
    And,
    BoolLit,
    Compare,
    Not,
    NumberLit,
    Or,
    Ref,
    RegexLit,
    StringLit,
    parse_where,
)

GOLDEN = [
    ("host = 'a'", "host = 'a'"),
    ("host='a' and dc='east'", "host = 'a' and dc = 'east'"),
    ("host = 'a' AND dc = 'east' Or x > 1", "host = 'a' and dc = 'east' or x > 1"),
    ("a = 1 or b = 2 and c = 3", "a = 1 or b = 2 and c = 3"),
    ("(a = 1 or b = 2) and c = 3", "(a = 1 or b = 2) and c = 3"),
    ("a = 1 and (b = 2 and c = 3)", "a = 1 and b = 2 and c = 3"),
    ("a = 1 or (b = 2 or c = 3)", "a = 1 or b = 2 or c = 3"),
    ("not a = 1 and b = 2", "not a = 1 and b = 2"),
    ("not (a = 1 and b = 2)", "not (a = 1 and b = 2)"),
    ("NOT NOT a = 1", "not not a = 1"),
    ("x <> 3", "x != 3"),
    ("x>=-1.5", "x >= -1.5"),
    ("x < .5", "x < 0.5"),
    ("x = 1e3", "x = 1000.0"),
    ("x = 1e999", "x = 1e999"),
    ("1 < x", "x > 1"),
    ("'a' <= host", "host >= 'a'"),
    ("ok = TRUE", "ok = true"),
    ("ok != false", "ok != false"),
    ("host =~ /h1.*/", "host =~ /h1.*/"),
    ("path !~ /^\\/var\\//", "path !~ /^\\/var\\//"),
    ("\"my tag\" = 'v'", "\"my tag\" = 'v'"),
    ("\"q\\\"uote\" = 'it\\'s'", "\"q\\\"uote\" = 'it\\'s'"),
    ('"and" = 1', '"and" = 1'),
    ('"plain" = 1', "plain = 1"),
    ("host::tag = 'a'", "host::tag = 'a'"),
    ('"usage"::FIELD > 90', "usage::field > 90"),
    ("tag = 'x'", "tag = 'x'"),
    ("héllo = 'ü'", "héllo = 'ü'"),
    ("a = 1\n  and b = 2", "a = 1 and b = 2"),
]


@pytest.mark.parametrize(("text", "printed"), GOLDEN)
def test_parse_prints_back(text: str, printed: str) -> None:
    expr = parse_where(text)
    assert str(expr) == printed
    assert parse_where(printed) == expr


def test_tree_shape_and_spans() -> None:
    expr = parse_where("host = 'a' and\n  not x > -2")
    assert expr == And(
        (
            Compare("=", Ref("host"), StringLit("a")),
            Not(Compare(">", Ref("x"), NumberLit(-2))),
        )
    )
    assert isinstance(expr, And)
    assert expr.span == Span(1, 1, 27)
    first, second = expr.operands
    assert isinstance(first, Compare) and isinstance(second, Not)
    assert first.value.span == Span(1, 8, 3)
    assert second.span == Span(2, 3, 10)
    assert isinstance(second.operand, Compare)
    assert second.operand.ref.span == Span(2, 7, 1)


def test_literal_types() -> None:
    e = parse_where("a = 3 or b = 3.0 or c = true or d =~ /x\\/y/ or e::field = 'z'")
    assert isinstance(e, Or)
    values = [o.value for o in e.operands if isinstance(o, Compare)]
    assert values == [NumberLit(3), NumberLit(3.0), BoolLit(True), RegexLit("x/y"), StringLit("z")]
    first, second = values[0], values[1]
    assert isinstance(first, NumberLit) and isinstance(first.value, int)
    assert isinstance(second, NumberLit) and isinstance(second.value, float)
    compare = e.operands[4]
    assert isinstance(compare, Compare) and compare.ref == Ref("e", "field")


BAD = [
    ("", DslSyntaxError, "1:1: empty where clause"),
    ("   ", DslSyntaxError, "1:4: empty where clause"),
    ("host =", DslSyntaxError, "1:7: expected a value after '='"),
    ("host = and dc = 'x'", DslSyntaxError, "1:8: expected a value after '='"),
    ("host =~", DslSyntaxError, "1:8: expected a value after '=~'"),
    ("host = 'a' and and dc = 'b'", DslSyntaxError, "1:16: unexpected 'and'"),
    ("and host = 'a'", DslSyntaxError, "1:1: unexpected 'and'"),
    ("host = 'a' and", DslSyntaxError, "1:15: expected a condition after 'and'"),
    ("not", DslSyntaxError, "1:4: expected a condition after 'not'"),
    ("host 'a'", DslSyntaxError, "1:6: expected a comparison operator after 'host'"),
    ("host::tag", DslSyntaxError, "1:10: expected a comparison operator after 'host::tag'"),
    ("host = 'abc", DslSyntaxError, "1:8: unterminated string"),
    ("x = '\\'", DslSyntaxError, "1:5: unterminated string"),
    ('"abc = 1', DslSyntaxError, "1:1: unterminated quoted name"),
    ("x =~ /abc", DslSyntaxError, "1:6: unterminated regex"),
    ("x =~ /a(/", DslSyntaxError, "1:8: invalid regex: missing ), unterminated subpattern"),
    ("x =~\n /ab[/", DslSyntaxError, "2:5: invalid regex: unterminated character set"),
    ("x =~ /a\\/b(/", DslSyntaxError, "1:11: invalid regex: missing ), unterminated subpattern"),
    ("x =~ /a{2,1}/", DslSyntaxError, "1:9: invalid regex: min repeat greater than max repeat"),
    ("x =~ 'a'", DslSyntaxError, "1:6: '=~' needs a regex on the right, like /pattern/"),
    ("x !~ 1", DslSyntaxError, "1:6: '!~' needs a regex on the right, like /pattern/"),
    ("x = /a/", DslSyntaxError, "1:5: a regex can only be used with =~ or !~"),
    ("/a/ = x", DslSyntaxError, "1:1: a regex can only be used with =~ or !~"),
    ("'a' =~ /x/", DslTypeError, "1:1: '=~' needs a tag or field reference on the left"),
    ("(a = 1", DslSyntaxError, "1:1: missing ')' to close this '('"),
    ("a = 1 and (b = 2", DslSyntaxError, "1:11: missing ')' to close this '('"),
    ("a = 1)", DslSyntaxError, "1:6: unmatched ')'"),
    ("()", DslSyntaxError, "1:2: unexpected ')'"),
    ("x = 1 y = 2", DslSyntaxError, "1:7: unexpected 'y'"),
    ("x = 1 'y'", DslSyntaxError, "1:7: unexpected string 'y'"),
    ("a ! 1", DslSyntaxError, "1:3: unexpected character '!'"),
    ("a = 1 ; b = 2", DslSyntaxError, "1:7: unexpected character ';'"),
    ("a = b", DslTypeError, "1:1: cannot compare two references (a and b); compare a tag or field"),
    ("1 = 2", DslTypeError, "1:1: a comparison needs a tag or field reference on one side"),
    ("x::foo = 1", DslSyntaxError, "1:4: expected 'tag' or 'field' after '::', got 'foo'"),
    ("x:: = 1", DslSyntaxError, "1:5: expected 'tag' or 'field' after '::'"),
    (
        "host::tag = 1",
        DslTypeError,
        "1:13: tag values are strings: compare host::tag with a string",
    ),
    ("host::tag != false", DslTypeError, "1:14: tag values are strings"),
    ("ok < true", DslTypeError, "1:1: booleans can only be compared with = or !="),
    ("a = 1 and\n  (b = ", DslSyntaxError, "2:8: expected a value after '='"),
]


@pytest.mark.parametrize(("text", "cls", "message"), BAD)
def test_parse_errors(text: str, cls: type[DslError], message: str) -> None:
    with pytest.raises(cls) as info:
        parse_where(text)
    assert str(info.value).startswith(message)
    assert info.value.source == text


def test_error_renders_caret() -> None:
    with pytest.raises(DslSyntaxError) as info:
        parse_where("host = 'a' and and")
    assert info.value.render() == (
        "1:16: unexpected 'and'\n  host = 'a' and and\n                 ^^^"
    )


def test_nesting_limit() -> None:
    deep = "(" * (MAX_DEPTH + 5) + "a = 1" + ")" * (MAX_DEPTH + 5)
    with pytest.raises(DslSyntaxError, match="nested too deeply"):
        parse_where(deep)
    nots = "not " * 1000 + "a = 1"
    with pytest.raises(DslSyntaxError, match="nested too deeply"):
        parse_where(nots)
    # Long flat chains are not nesting: they make one n-ary node.
    chain = " or ".join(f"host = 'h{i}'" for i in range(2000))
    expr = parse_where(chain)
    assert isinstance(expr, Or) and len(expr.operands) == 2000


_PIECES = [
    "host", "x", '"q"', '"a\\"b"', "'a'", "'it\\'s'", "''", "1", "-2.5", ".5", "1e3", "true",
    "FALSE", "/h.*/", "/a\\/b/", "/[/", "=", "!=", "<>", "<", "<=", ">", ">=", "=~", "!~", "and",
    "OR", "not", "(", ")", "::", "tag", "field", " ", "\n", "'", '"', "/", "\\", "!", ":", "-",
]  # fmt: skip


# cheap per example: random text needs many tries to parse
@settings(max_examples=settings.default.max_examples * 4)
@given(
    st.one_of(
        st.text(max_size=40),
        st.lists(st.sampled_from(_PIECES), max_size=14).map(" ".join),
        st.lists(st.sampled_from(_PIECES), max_size=14).map("".join),
    )
)
def test_any_text_parses_or_raises_dsl_error(text: str) -> None:
    try:
        expr = parse_where(text)
    except DslError as e:
        assert 1 <= e.span.line <= text.count("\n") + 1
        assert e.span.col >= 1
        return
    printed = str(expr)
    again = parse_where(printed)
    assert again == expr
    assert str(again) == printed
