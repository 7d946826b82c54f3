"""The where clause's comparison checks on their own, without the parser."""

from __future__ import annotations

import pytest

from kapacitor.errors import DslError, DslSyntaxError, DslTypeError, Span
from kapacitor.match.where.ast import (
    BoolLit,
    Compare,
    NumberLit,
    Operand,
    Ref,
    RegexLit,
    StringLit,
)
from kapacitor.match.where.check import check_comparison

WHOLE = Span(1, 1, 9)
LEFT = Span(1, 1, 1)
RIGHT = Span(1, 9, 1)


def check(left: Operand, op: str, right: Operand) -> Compare:
    return check_comparison(left, op, right, WHOLE, "some text")


def test_reference_on_the_left_stays() -> None:
    got = check(Ref("x"), "<", NumberLit(1))
    assert got == Compare("<", Ref("x"), NumberLit(1))
    assert got.span == WHOLE


@pytest.mark.parametrize(
    ("op", "flipped"),
    [("=", "="), ("!=", "!="), ("<", ">"), ("<=", ">="), (">", "<"), (">=", "<=")],
)
def test_literal_on_the_left_is_flipped(op: str, flipped: str) -> None:
    assert check(NumberLit(1), op, Ref("x")) == Compare(flipped, Ref("x"), NumberLit(1))


def test_regex_match() -> None:
    assert check(Ref("h", "tag"), "!~", RegexLit("a")) == Compare(
        "!~", Ref("h", "tag"), RegexLit("a")
    )


@pytest.mark.parametrize(
    ("left", "op", "right", "cls", "message", "span"),
    [
        (Ref("x"), "=~", StringLit("a", span=RIGHT), DslSyntaxError, "'=~' needs a regex", RIGHT),
        (StringLit("a", span=LEFT), "!~", RegexLit("x"), DslTypeError, "'!~' needs a tag", LEFT),
        (RegexLit("a", span=LEFT), "=", Ref("x"), DslSyntaxError, "a regex can only", LEFT),
        (Ref("a"), "=", Ref("b"), DslTypeError, "cannot compare two references (a and b)", WHOLE),
        (NumberLit(1), "=", NumberLit(2), DslTypeError, "a comparison needs a tag", WHOLE),
        (Ref("ok"), "<", BoolLit(True), DslTypeError, "booleans can only be compared", WHOLE),
        (Ref("h", "tag"), "=", NumberLit(1, span=RIGHT), DslTypeError, "tag values are", RIGHT),
        (BoolLit(False, span=LEFT), "!=", Ref("h", "tag"), DslTypeError, "tag values are", LEFT),
    ],
)
def test_rule_violations(
    left: Operand, op: str, right: Operand, cls: type[DslError], message: str, span: Span
) -> None:
    with pytest.raises(cls) as info:
        check(left, op, right)
    assert info.value.message.startswith(message)
    assert info.value.span == span
    assert info.value.source == "some text"
