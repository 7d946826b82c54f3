"""The lexer: token kinds and values, newline and regex rules, lexical errors."""

from __future__ import annotations

import pytest

from kapacitor.dsl.tokens import tokenize
from kapacitor.errors import DslSyntaxError, Span


def kinds(source: str) -> list[str]:
    return [t.type for t in tokenize(source)]


def test_tokens_of_a_script_with_positions() -> None:
    toks = tokenize("let a = 1\nalert(a, <, 30)")
    assert [(t.type, t.span) for t in toks[:5]] == [
        ("LET", Span(1, 1, 3)),
        ("NAME", Span(1, 5, 1)),
        ("ASSIGN", Span(1, 7, 1)),
        ("INT", Span(1, 9, 1)),
        ("SEP", Span(1, 10, 1)),
    ]
    assert toks[5].span == Span(2, 1, 5)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("10s", 10 * 10**9),
        ("5m", 300 * 10**9),
        ("1h", 3600 * 10**9),
        ("1d", 86400 * 10**9),
        ("1w", 7 * 86400 * 10**9),
        ("100ms", 100 * 10**6),
        ("10us", 10_000),
        ("10u", 10_000),
        ("10µs", 10_000),
        ("10ns", 10),
        ("1h30m", 5400 * 10**9),
    ],
)
def test_durations(text: str, value: int) -> None:
    (tok,) = tokenize(text)
    assert tok.type == "DURATION"
    assert tok.value == (value, text)


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("42", "INT", 42),
        ("1.5", "FLOAT", 1.5),
        (".5", "FLOAT", 0.5),
        ("1e3", "FLOAT", 1000.0),
        ("1E+3", "FLOAT", 1000.0),
        ("2.5e-3", "FLOAT", 0.0025),
        ('"a\\"b\\n"', "STRING", 'a"b\n'),
        ("'it\\'s'", "STRING", "it's"),
        ('"\\u00e9\\t"', "STRING", "é\t"),
        ("true", "TRUE", "true"),
        ("&&", "AND", "&&"),
        ("||", "OR", "||"),
        ("!", "NOT", "!"),
    ],
)
def test_literals(text: str, kind: str, value: object) -> None:
    (tok,) = tokenize(text)
    assert (tok.type, tok.value) == (kind, value)


def test_slash_is_regex_where_division_cannot_be() -> None:
    assert kinds("a / b") == ["NAME", "DIVIDE", "NAME"]
    assert kinds("(a) / 2") == ["LPAREN", "NAME", "RPAREN", "DIVIDE", "INT"]
    assert kinds("f(/x/, a =~ /y/)") == [
        "NAME", "LPAREN", "REGEX", "COMMA", "NAME", "MATCH", "REGEX", "RPAREN"
    ]  # fmt: skip
    (tok,) = tokenize(r"/a\/b/")
    assert tok.value == "a/b"


def test_comments_and_newlines() -> None:
    assert kinds("a # c\nb // d\n") == ["NAME", "SEP", "NAME", "SEP"]
    # Inside parentheses or after an operator a newline is whitespace.
    assert kinds("f(a,\n b)") == ["NAME", "LPAREN", "NAME", "COMMA", "NAME", "RPAREN"]
    assert kinds("a +\n b") == ["NAME", "PLUS", "NAME"]
    assert kinds("a;b") == ["NAME", "SEP", "NAME"]
    assert kinds("a\r\nb") == ["NAME", "SEP", "NAME"]


@pytest.mark.parametrize(
    ("source", "message", "span"),
    [
        ("10x", "bad duration '10x': unknown unit 'x' (units: ns, us, ms, s, m, h, d, w)", (1, 1)),
        ("10min", "bad duration '10min': unknown unit 'min': did you mean 10m?", (1, 1)),
        ("1.5h", "bad duration '1.5h': a duration is a whole number of a unit: write 90m", (1, 1)),
        ('a = "abc', 'unterminated string: missing closing "', (1, 5)),
        ('"a\\q"', "unknown escape '\\q' in string", (1, 3)),
        ("f(/abc)", "unterminated regex: missing closing '/'", (1, 3)),
        ("f(/a(/)", "bad regex: missing ), unterminated subpattern", (1, 5)),
        ("f(/a/i)", "regex flags are not supported: put (?i) at the start of the pattern", (1, 6)),
        ("f(//)", "", None),
        ("a @ b", "unexpected character '@'", (1, 3)),
        ("a & b", "unexpected '&': use 'and' (or '&&')", (1, 3)),
        ("99999999999999999999", "integer '99999999999999999999' is too large", (1, 1)),
        ("1e999", "number '1e999' is too large", (1, 1)),
        ("99999999999w", "bad duration '99999999999w': too long", (1, 1)),
    ],
)
def test_lexical_errors(source: str, message: str, span: tuple[int, int] | None) -> None:
    if span is None:  # `//` starts a comment: no error, the call is unterminated instead
        assert kinds(source) == ["NAME", "LPAREN"]
        return
    with pytest.raises(DslSyntaxError) as info:
        tokenize(source)
    assert info.value.message.startswith(message)
    assert (info.value.span.line, info.value.span.col) == span
    assert info.value.source == source
