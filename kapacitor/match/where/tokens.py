"""The where clause's lexer: text -> tokens, with 1-based line:col positions.

Built on PLY (`ply.lex`), once, at import. Keywords (`and or not true false`) are
case-insensitive. A bare or double-quoted name is a reference; `'single quotes'` make a string
(`\\'` escapes a quote), `/.../` a regex (`\\/` escapes a slash; Python `re` syntax, checked
here). Every error raised here is a DslSyntaxError with the span of the offending text.

`tokenize(text)` lists the tokens (for tests and debugging); the parser pulls them one at a
time through a `TokenStream`.
"""

from __future__ import annotations

import re
import warnings
from typing import Any, NoReturn

import ply.lex as lex

from kapacitor.errors import DslSyntaxError, Span
from kapacitor.lexing import Token, rule

__all__ = [
    "COMPARISONS",
    "KEYWORDS",
    "NAME_PATTERN",
    "Token",
    "TokenStream",
    "compile_regex",
    "span_at",
    "tokenize",
    "tokens",
]

KEYWORDS = {"and": "AND", "or": "OR", "not": "NOT", "true": "TRUE", "false": "FALSE"}

# A bare name (anything else, or a keyword, must be double-quoted).
NAME_PATTERN = r"[^\W\d]\w*"

tokens = (
    "IDENT",
    "QIDENT",
    "STRING",
    "NUMBER",
    "REGEX",
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "EREGEX",
    "NREGEX",
    "DCOLON",
    "LPAREN",
    "RPAREN",
    "AND",
    "OR",
    "NOT",
    "TRUE",
    "FALSE",
)

# The comparison operators' token types.
COMPARISONS = {"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "EREGEX", "NREGEX"}


def span_at(text: str, start: int, end: int) -> Span:
    """The Span of text[start:end]."""
    line = text.count("\n", 0, start) + 1
    col = start - text.rfind("\n", 0, start)
    return Span(line, col, max(1, end - start))


def compile_regex(pattern: str) -> re.Pattern[str]:
    # `re` warns (FutureWarning) about some valid patterns, e.g. "[[a]"; a where clause is not
    # Python source, so those warnings would only be noise (or errors under -W error).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return re.compile(pattern)


def _unescape(body: str, quote: str) -> str:
    r"""Turn `\<quote>` into <quote> and `\\` into `\`; any other backslash stays as written."""
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body) and body[i + 1] in (quote, "\\"):
            out.append(body[i + 1])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


# --- PLY rules. Function rules match in definition order, so longer operators come before their
# prefixes. ------------------------------------------------------------------------------------

t_ignore = " \t\r\n"


def t_QIDENT(t: Any) -> Any:
    r'"(?:[^"\\]|\\[\s\S])*"'
    t.value = _unescape(t.value[1:-1], '"')
    return t


def t_STRING(t: Any) -> Any:
    r"'(?:[^'\\]|\\[\s\S])*'"
    t.value = _unescape(t.value[1:-1], "'")
    return t


def t_REGEX(t: Any) -> Any:
    r"/(?:[^/\\]|\\[\s\S])*/"
    raw = t.value[1:-1]
    # Unescape `\/` only, remembering where each pattern char sits in the source so that an
    # error inside the pattern points at the right column.
    chars: list[str] = []
    where: list[int] = []
    i = 0
    while i < len(raw):
        if raw[i] == "\\" and i + 1 < len(raw):
            if raw[i + 1] == "/":
                chars.append("/")
                where.append(i + 1)
            else:
                chars += raw[i : i + 2]
                where += [i, i + 1]
            i += 2
        else:
            chars.append(raw[i])
            where.append(i)
            i += 1
    pattern = "".join(chars)
    try:
        compile_regex(pattern)
    except re.error as e:
        offset = 0 if e.pos is None else where[e.pos] + 1 if e.pos < len(where) else len(raw) + 1
        start = t.lexpos + offset
        length = len(t.value) - offset if e.pos is None else 1
        raise DslSyntaxError(
            f"invalid regex: {e.msg}",
            span_at(t.lexer.lexdata, start, start + length),
            t.lexer.lexdata,
        ) from None
    except (OverflowError, RecursionError, ValueError) as e:
        raise DslSyntaxError(
            f"invalid regex: {e}",
            span_at(t.lexer.lexdata, t.lexpos, t.lexpos + len(t.value)),
            t.lexer.lexdata,
        ) from None
    t.value = pattern
    return t


def t_NUMBER(t: Any) -> Any:
    r"-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?"
    text = t.value
    t.value = float(text) if any(c in text for c in ".eE") else int(text)
    return t


@rule(NAME_PATTERN)
def t_IDENT(t: Any) -> Any:
    t.type = KEYWORDS.get(t.value.lower(), "IDENT")
    return t


def t_EREGEX(t: Any) -> Any:
    r"=~"
    return t


def t_NREGEX(t: Any) -> Any:
    r"!~"
    return t


def t_NEQ(t: Any) -> Any:
    r"!=|<>"
    return t


def t_EQ(t: Any) -> Any:
    r"="
    return t


def t_LTE(t: Any) -> Any:
    r"<="
    return t


def t_LT(t: Any) -> Any:
    r"<"
    return t


def t_GTE(t: Any) -> Any:
    r">="
    return t


def t_GT(t: Any) -> Any:
    r">"
    return t


def t_DCOLON(t: Any) -> Any:
    r"::"
    return t


def t_LPAREN(t: Any) -> Any:
    r"\("
    return t


def t_RPAREN(t: Any) -> Any:
    r"\)"
    return t


_UNTERMINATED = {
    "'": "unterminated string",
    '"': "unterminated quoted name",
    "/": "unterminated regex",
}


def t_error(t: Any) -> NoReturn:
    text: str = t.lexer.lexdata
    start: int = t.lexpos
    c = text[start]
    if c in _UNTERMINATED:
        eol = text.find("\n", start)
        end = len(text) if eol < 0 else eol
        raise DslSyntaxError(_UNTERMINATED[c], span_at(text, start, end), text)
    raise DslSyntaxError(f"unexpected character {c!r}", span_at(text, start, start + 1), text)


_LEXER = lex.lex(optimize=False, errorlog=lex.NullLogger())


class TokenStream:
    """The token stream handed to PLY: remembers what it returned, for errors and spans."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._lexer = _LEXER.clone()
        self._lexer.input(text)
        self.seen: list[Any] = []
        self._ends: dict[int, int] = {}

    def input(self, text: str) -> None:  # PLY's lexer protocol; the text was given to __init__.
        pass

    def token(self) -> Any:
        tok = self._lexer.token()
        if tok is not None:
            self._ends[tok.lexpos] = self._lexer.lexpos
            self.seen.append(tok)
        return tok

    def end_of(self, lexpos: int) -> int:
        return self._ends[lexpos]

    def source(self, tok: Any) -> str:
        return self.text[tok.lexpos : self._ends[tok.lexpos]]


def tokenize(text: str) -> list[Token]:
    """All tokens of `text`; raises DslSyntaxError on the first bad one."""
    stream = TokenStream(text)
    out: list[Token] = []
    while (tok := stream.token()) is not None:
        src = stream.source(tok)
        out.append(
            Token(tok.type, tok.value, src, span_at(text, tok.lexpos, tok.lexpos + len(src)))
        )
    return out
