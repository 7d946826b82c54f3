"""The plugin language's lexer: source text -> tokens, with 1-based line:col positions.

Built on PLY (`ply.lex`), once, at import. Three things are decided here rather than in the
grammar, because they depend on the previous token:

* `/` is a regex literal when it cannot be a division, i.e. when the previous token cannot
  end an expression (start of script, `(`, `,`, `=`, an operator, a separator), exactly like
  JavaScript. `//` always starts a comment.
* A newline separates statements only at parenthesis (and bracket) depth 0 and after a token
  that can end an expression; elsewhere it is plain whitespace, so calls, lists and operators
  may span lines.
* `;` and significant newlines both become one token type, SEP.

Every error raised here is a DslSyntaxError carrying the span of the offending text.
"""

from __future__ import annotations

import bisect
import re
import warnings
from fractions import Fraction
from typing import Any

import ply.lex as lex

from kapacitor.errors import DslSyntaxError, Span
from kapacitor.lexing import Token, rule
from kapacitor.model.limits import INT64_MAX

# Keywords are reserved: they cannot be used as identifiers (use field("and") for such a field).
KEYWORDS: dict[str, str] = {
    "let": "LET",
    "and": "AND",
    "or": "OR",
    "not": "NOT",
    "true": "TRUE",
    "false": "FALSE",
}

# Every operator and punctuation spelling, mapped to its token type. Aliases (`&&`, `||`, `!`)
# share the token type of the word they stand for, so the grammar never sees them.
OPERATORS: dict[str, str] = {
    "==": "EQ",
    "!=": "NE",
    "<=": "LE",
    ">=": "GE",
    "=~": "MATCH",
    "!~": "NOMATCH",
    "&&": "AND",
    "||": "OR",
    "<": "LT",
    ">": "GT",
    "=": "ASSIGN",
    "!": "NOT",
    "+": "PLUS",
    "-": "MINUS",
    "*": "TIMES",
    "%": "MOD",
    "(": "LPAREN",
    ")": "RPAREN",
    "[": "LBRACKET",
    "]": "RBRACKET",
    ",": "COMMA",
    ";": "SEMI",
}

tokens: tuple[str, ...] = (
    "NAME",
    "INT",
    "FLOAT",
    "STRING",
    "DURATION",
    "REGEX",
    "SEP",
    "DIVIDE",
    "NEWLINE",
    *sorted(set(KEYWORDS.values()) | set(OPERATORS.values())),
)

# How each token type is spelled in the EBNF (terminals in quotes, lexical classes by name).
SPELLING: dict[str, str] = {
    "NAME": "name",
    "INT": "int",
    "FLOAT": "float",
    "STRING": "string",
    "DURATION": "duration",
    "REGEX": "regex",
    "SEP": "sep",
    "DIVIDE": '"/"',
    **{kind: f'"{word}"' for word, kind in KEYWORDS.items() if kind not in ("AND", "OR", "NOT")},
    "AND": '( "and" | "&&" )',
    "OR": '( "or" | "||" )',
    "NOT": '( "not" | "!" )',
    **{
        kind: f'"{op}"'
        for op, kind in OPERATORS.items()
        if kind not in ("AND", "OR", "NOT", "SEMI")
    },
}

# The lexical half of the grammar, appended to the EBNF generated from the parser rules.
LEXICAL_EBNF = r"""(* lexical rules: whitespace (space, tab) and comments separate tokens *)
sep      = ";" | newline ;  (* a newline only at depth 0, after a token that ends an expression *)
comment  = ( "#" | "//" ) { any character except newline } ;
name     = letter { letter | digit } ;  (* not a keyword *)
letter   = "a" ... "z" | "A" ... "Z" | "_" ;
digit    = "0" ... "9" ;
int      = digit { digit } ;
float    = ( digit { digit } "." digit { digit } | "." digit { digit } ) [ exponent ]
         | digit { digit } exponent ;
exponent = ( "e" | "E" ) [ "+" | "-" ] digit { digit } ;
duration = int unit { int unit } ;
unit     = "ns" | "us" | "u" | "µs" | "ms" | "s" | "m" | "h" | "d" | "w" ;
string   = '"' { char | escape | "'" } '"' | "'" { char | escape | '"' } "'" ;
escape   = "\" ( "n" | "t" | "r" | "0" | "\" | '"' | "'" | "u" hex hex hex hex ) ;
regex    = "/" { char | "\" char } "/" ;  (* only where a division cannot be; "\/" is "/" *)"""

DURATION_UNITS: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "u": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
    "d": 86400 * 1_000_000_000,
    "w": 7 * 86400 * 1_000_000_000,
}

# Spellings people reach for; used only to word the error for a bad unit.
_UNIT_HINTS: dict[str, str] = {
    "sec": "s",
    "secs": "s",
    "second": "s",
    "seconds": "s",
    "min": "m",
    "mins": "m",
    "minute": "m",
    "minutes": "m",
    "hr": "h",
    "hrs": "h",
    "hour": "h",
    "hours": "h",
    "day": "d",
    "days": "d",
    "week": "w",
    "weeks": "w",
    "msec": "ms",
    "msecs": "ms",
    "usec": "us",
    "nsec": "ns",
}

# Tokens after which an expression may end: a newline after one of them ends the statement,
# and a `/` after one of them is a division rather than a regex.
ENDERS = frozenset(
    {"NAME", "INT", "FLOAT", "STRING", "DURATION", "REGEX", "TRUE", "FALSE", "RPAREN", "RBRACKET"}
)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'"}


class Positions:
    """Turns character offsets into 1-based (line, col), the way DslError.render counts lines."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.starts = [0]
        for line in source.splitlines(keepends=True):
            self.starts.append(self.starts[-1] + len(line))

    def line_col(self, offset: int) -> tuple[int, int]:
        # starts[-1] is the end of the text, not a line: positions at the very end belong to
        # the last line.
        line = max(0, min(bisect.bisect_right(self.starts, offset) - 1, len(self.starts) - 2))
        return line + 1, offset - self.starts[line] + 1

    def span(self, start: int, end: int) -> Span:
        """The span of source[start:end], cut at the end of its first line."""
        line, col = self.line_col(start)
        text = self.source[start:end]
        first = text.splitlines()[0] if text else ""
        return Span(line, col, max(1, len(first)))

    def end_span(self) -> Span:
        """A zero-width position just after the last non-blank character of the source."""
        stripped = len(self.source.rstrip())
        line, col = self.line_col(stripped - 1) if stripped else (1, 0)
        return Span(line, col + 1, 1)


def _fail(t: Any, message: str, start: int, end: int) -> DslSyntaxError:
    source: str = t.lexer.lexdata
    return DslSyntaxError(message, Positions(source).span(start, end), source)


# --- PLY rules. Function rules are tried in definition order, before string rules. -------------

t_ignore = " \t"


@rule(r"(?:\#|//)[^\r\n]*")
def t_COMMENT(t: Any) -> None:
    # Comments vanish; the newline that ends them is still a token.
    return None


@rule(r"\r\n|\n|\r")
def t_NEWLINE(t: Any) -> Any:
    return t


@rule(
    r"(?![0-9]+(?:\.[0-9]+)?[eE][+-]?[0-9]+(?![A-Za-z0-9_µ]))"  # not a float such as 1e3
    r"[0-9]+(?:\.[0-9]+)?[A-Za-z_µ][A-Za-z0-9_µ]*"
)
def t_DURATION(t: Any) -> Any:
    # Any number glued to letters lands here, so that `10x` is reported as a bad duration
    # rather than as a number followed by a stray name.
    text: str = t.value
    start, end = t.lexpos, t.lexpos + len(text)

    def bad(reason: str) -> DslSyntaxError:
        return _fail(t, f"bad duration '{text}': {reason}", start, end)

    if re.fullmatch(r"(?:[0-9]+[A-Za-z_µ]+)+", text) is None:
        hint = ""
        m = re.fullmatch(r"([0-9]+\.[0-9]+)([A-Za-z_µ]+)", text)
        if m and m[2] in DURATION_UNITS:
            ns = Fraction(m[1]) * DURATION_UNITS[m[2]]
            if ns.denominator == 1 and ns > 0:
                hint = f": write {format_ns(int(ns))}"
        raise bad("a duration is a whole number of a unit" + hint)
    total = 0
    for number, unit in re.findall(r"([0-9]+)([A-Za-z_µ]+)", text):
        if unit not in DURATION_UNITS:
            suggestion = _UNIT_HINTS.get(unit.lower())
            hint = f": did you mean {number}{suggestion}?" if suggestion else ""
            raise bad(f"unknown unit '{unit}'{hint} (units: ns, us, ms, s, m, h, d, w)")
        if len(number.lstrip("0")) > 19:
            raise bad("too long")
        total += int(number) * DURATION_UNITS[unit]
    if total > INT64_MAX:
        raise bad("too long (the longest is about 292 years)")
    t.value = (total, text)
    return t


def format_ns(ns: int) -> str:
    """A duration in its largest whole unit: 90s -> "90s", 3600s -> "1h"."""
    if ns < 0:
        return "-" + format_ns(-ns)
    for unit in ("w", "d", "h", "m", "s", "ms", "us", "ns"):
        size = DURATION_UNITS[unit]
        if ns % size == 0 and ns // size > 0:
            return f"{ns // size}{unit}"
    return f"{ns}ns"


@rule(r"(?:[0-9]+\.[0-9]+|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+")
def t_FLOAT(t: Any) -> Any:
    value = float(t.value)
    if value == float("inf"):
        raise _fail(t, f"number '{t.value}' is too large", t.lexpos, t.lexpos + len(t.value))
    t.value = value
    return t


@rule(r"[0-9]+")
def t_INT(t: Any) -> Any:
    text: str = t.value
    if len(text.lstrip("0")) > 19 or int(text) > INT64_MAX:
        raise _fail(
            t,
            f"integer '{text}' is too large (the largest is {INT64_MAX})",
            t.lexpos,
            t.lexpos + len(text),
        )
    t.value = int(text)
    return t


@rule(r"[A-Za-z_][A-Za-z0-9_]*")
def t_NAME(t: Any) -> Any:
    t.type = KEYWORDS.get(t.value, "NAME")
    return t


@rule("\"(?:[^\"\\\\\\r\\n]|\\\\[^\\r\\n])*\"|'(?:[^'\\\\\\r\\n]|\\\\[^\\r\\n])*'")
def t_STRING(t: Any) -> Any:
    raw: str = t.value[1:-1]
    out: list[str] = []
    i = 0
    while i < len(raw):
        c = raw[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        e = raw[i + 1]
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
            i += 2
        elif e == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", raw[i + 2 : i + 6]):
            out.append(chr(int(raw[i + 2 : i + 6], 16)))
            i += 6
        else:
            at = t.lexpos + 1 + i
            raise _fail(
                t,
                f"unknown escape '\\{e}' in string (use \\n \\t \\r \\0 \\\\ \\\" \\' \\uXXXX)",
                at,
                at + 2,
            )
    t.value = "".join(out)
    return t


@rule(r"/")
def t_DIVIDE(t: Any) -> Any:
    if getattr(t.lexer, "prev_type", None) in ENDERS:
        return t
    # Not after an operand: this is a regex literal. Scan to the closing unescaped `/`.
    source: str = t.lexer.lexdata
    start = t.lexpos
    i = start + 1
    pattern: list[str] = []
    origins: list[int] = []  # source offset of each pattern character, to place re's errors
    while True:
        if i >= len(source) or source[i] in "\r\n":
            raise _fail(t, "unterminated regex: missing closing '/'", start, i)
        c = source[i]
        if c == "/":
            break
        if c == "\\" and i + 1 < len(source) and source[i + 1] not in "\r\n":
            if source[i + 1] == "/":
                pattern.append("/")
                origins.append(i)
            else:
                pattern.extend((c, source[i + 1]))
                origins.extend((i, i + 1))
            i += 2
            continue
        pattern.append(c)
        origins.append(i)
        i += 1
    end = i + 1
    text = "".join(pattern)
    if not text:
        raise _fail(t, "empty regex: write /(?:)/ to match anything", start, end)
    compile_regex(text, source, start, end, origins)
    if end < len(source) and (source[end].isalnum() or source[end] == "_"):
        raise _fail(
            t,
            "regex flags are not supported: put (?i) at the start of the pattern instead",
            end,
            end + 1,
        )
    t.lexer.lexpos = end
    t.type = "REGEX"
    t.value = text
    return t


def compile_regex(
    pattern: str,
    source: str = "",
    start: int = 0,
    end: int = 0,
    origins: list[int] | None = None,
) -> re.Pattern[str]:
    """Compile a regex literal's pattern, turning any failure into a DslSyntaxError."""
    try:
        with warnings.catch_warnings():
            # re warns about some constructs (nested sets); warnings must not escape as errors.
            warnings.simplefilter("ignore")
            return re.compile(pattern)
    except re.error as exc:
        at = start
        if exc.pos is not None and origins and 0 <= exc.pos < len(origins):
            at = origins[exc.pos]
        elif exc.pos is not None and origins:
            at = end - 1
        span = Positions(source).span(at, at + 1) if source else Span(1, 1)
        raise DslSyntaxError(f"bad regex: {exc.msg}", span, source) from None
    except (OverflowError, RecursionError, ValueError) as exc:
        span = Positions(source).span(start, end) if source else Span(1, 1)
        raise DslSyntaxError(f"bad regex: {exc}", span, source) from None


@rule(r"==|!=|<=|>=|=~|!~|&&|\|\||[<>=!+\-*%()\[\],;]")
def t_OPERATOR(t: Any) -> Any:
    t.type = OPERATORS[t.value]
    return t


def t_error(t: Any) -> None:
    source: str = t.lexer.lexdata
    c = source[t.lexpos]
    if c in "\"'":
        raise _fail(t, "unterminated string: missing closing " + c, t.lexpos, len(source))
    if c == "&":
        message = "unexpected '&': use 'and' (or '&&')"
    elif c == "|":
        message = "unexpected '|': use 'or' (or '||')"
    elif c == ".":
        message = "unexpected '.': a number needs digits after its '.', a name cannot hold one "
        message += '(use field("a.b"))'
    elif c.isprintable():
        message = f"unexpected character '{c}'"
    else:
        message = f"unexpected character {c!r}"
    raise _fail(t, message, t.lexpos, t.lexpos + 1)


# reflags=0: PLY's default re.VERBOSE would treat `#` and spaces in the rules as regex syntax.
_LEXER = lex.lex(reflags=0, optimize=False, errorlog=lex.NullLogger())


class TokenStream:
    """The token source handed to the parser: applies the newline and regex rules.

    Also remembers what the parser's error reporting needs: where each token ends, which
    parentheses are still open and which token came last.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.positions = Positions(source)
        self.lexer: Any = _LEXER.clone()
        self.lexer.input(source)
        self.lexer.prev_type = None
        self.ends: dict[int, int] = {}
        self.opens: list[int] = []  # offsets of the '(' and '[' not yet closed
        self.last: Any = None  # the last token returned
        self.last_newline = False  # whether `last` comes right after a newline separator

    def token(self) -> Any:
        while True:
            tok = self.lexer.token()
            if tok is None:
                return None
            tok.end = self.lexer.lexpos
            if tok.type == "NEWLINE":
                if self.opens or self.lexer.prev_type not in ENDERS:
                    continue  # a newline inside (...) or after an operator: whitespace
                tok.type = "SEP"
            elif tok.type == "SEMI":
                tok.type = "SEP"
            elif tok.type in ("LPAREN", "LBRACKET"):
                self.opens.append(tok.lexpos)
            elif tok.type in ("RPAREN", "RBRACKET") and self.opens:
                tok.opened = self.opens.pop()  # where the '(' or '[' it closes is
            self.ends[tok.lexpos] = tok.end
            self.lexer.prev_type = tok.type
            # Whether this token starts a line that a newline separator ended before it.
            last = self.last
            self.last_newline = last is not None and last.type == "SEP" and last.value != ";"
            self.last = tok
            return tok

    def text_of(self, tok: Any) -> str:
        return self.source[tok.lexpos : getattr(tok, "end", tok.lexpos + 1)]

    def span_of(self, tok: Any) -> Span:
        return self.positions.span(tok.lexpos, getattr(tok, "end", tok.lexpos + 1))


def tokenize(source: str) -> list[Token]:
    """All tokens of `source`, separators included (for tests and `check --explain`)."""
    stream = TokenStream(source)
    out: list[Token] = []
    while (tok := stream.token()) is not None:
        out.append(Token(tok.type, tok.value, stream.text_of(tok), stream.span_of(tok)))
    return out
