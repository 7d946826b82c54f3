"""The where clause's lexer on its own: token types, values, spans, and printing back."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapacitor.errors import DslError, DslSyntaxError, Span
from kapacitor.match.where.tokens import Token, tokenize


def test_tokens_of_a_clause() -> None:
    toks = tokenize('host::TAG = \'a\' AND\n  x <> -1.5e0 or "q\\"" =~ /a\\/b/')
    assert [(t.type, t.value) for t in toks] == [
        ("IDENT", "host"),
        ("DCOLON", "::"),
        ("IDENT", "TAG"),
        ("EQ", "="),
        ("STRING", "a"),
        ("AND", "AND"),
        ("IDENT", "x"),
        ("NEQ", "<>"),
        ("NUMBER", -1.5),
        ("OR", "or"),
        ("QIDENT", 'q"'),
        ("EREGEX", "=~"),
        ("REGEX", "a/b"),
    ]
    assert toks[6] == Token("IDENT", "x", "x", Span(2, 3, 1))
    assert [str(t) for t in toks[-3:]] == ['"q\\""', "=~", "/a\\/b/"]


def test_numbers_keep_int_or_float() -> None:
    assert [t.value for t in tokenize("1 1.0 .5 1e3 -7")] == [1, 1.0, 0.5, 1000.0, -7]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("'abc", "1:1: unterminated string"),
        ("x =~ /a(/", "1:8: invalid regex: missing ), unterminated subpattern"),
        ("a ; b", "1:3: unexpected character ';'"),
    ],
)
def test_lexer_errors(text: str, message: str) -> None:
    with pytest.raises(DslSyntaxError) as info:
        tokenize(text)
    assert str(info.value).startswith(message)


_PIECES = ["host", '"q"', "'a'", "1", "-2.5", "true", "/h.*/", "=", "<>", "=~", "and", "(", ")",
           "::", "tag", "'", "/", "!", " ", "\n"]  # fmt: skip


# cheap per example: random text needs many tries to tokenize
@settings(max_examples=settings.default.max_examples * 2)
@given(st.lists(st.sampled_from(_PIECES), max_size=12).map(" ".join))
def test_printed_tokens_lex_back_to_the_same_tokens(text: str) -> None:
    try:
        toks = tokenize(text)
    except DslError:
        return
    again = tokenize(" ".join(str(t) for t in toks))
    assert [(t.type, t.value) for t in again] == [(t.type, t.value) for t in toks]
