"""The where-clause language of plugin definitions (`--where`): lexer, grammar and syntax tree.

An InfluxQL-like boolean expression over one point's tags and fields::

    where      := expr
    expr       := expr OR expr | expr AND expr | NOT expr | '(' expr ')' | comparison
    comparison := operand op operand
    op         := '=' | '!=' | '<>' | '<' | '<=' | '>' | '>=' | '=~' | '!~'
    operand    := ref | 'string' | number | true | false | /regex/
    ref        := name | "quoted name" | ref-name '::tag' | ref-name '::field'

Keywords (`and or not true false`) are case-insensitive; precedence is NOT > AND > OR. A bare
or double-quoted name is a reference; `'single quotes'` make a string (`\\'` escapes a quote),
`/.../` a regex (`\\/` escapes a slash; Python `re` syntax, unanchored search).

Checked here, at parse time: a regex only on the right of `=~`/`!~` (and nowhere else); every
comparison has exactly one reference and one literal (a literal on the left is flipped to the
right); booleans only with `=`/`!=`; `::tag` references only against strings or regexes.

`parse_where` raises only DslSyntaxError / DslTypeError (both DslError) with the exact 1-based
line:col of the offending token. The tree is frozen dataclasses whose `str()` is parseable source
that parses back to an equal tree (spans are not compared). Semantics live in
`kapacitor.match.predicate`; see also docs/where.md.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn

import ply.lex as lex
import ply.yacc as yacc

from kapacitor.errors import DslError, DslSyntaxError, DslTypeError, Span

__all__ = [
    "MAX_DEPTH",
    "And",
    "BoolLit",
    "Compare",
    "Not",
    "NumberLit",
    "Or",
    "Ref",
    "RefKind",
    "RegexLit",
    "StringLit",
    "Value",
    "WhereExpr",
    "parse_where",
]

# Evaluation and printing recurse over the tree; this keeps them far from Python's stack limit.
MAX_DEPTH = 100

_NO_SPAN = Span(0, 0)
_BARE_NAME = re.compile(r"[^\W\d]\w*\Z")
_KEYWORDS = {"and": "AND", "or": "OR", "not": "NOT", "true": "TRUE", "false": "FALSE"}

RefKind = Literal["any", "tag", "field"]


# ---------------------------------------------------------------------------------------------
# Syntax tree
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference to a tag or field. `kind` "any" resolves per point: tag first, then field."""

    name: str
    kind: RefKind = "any"
    span: Span = field(default=_NO_SPAN, compare=False, kw_only=True)

    def __str__(self) -> str:
        if _BARE_NAME.match(self.name) and self.name.lower() not in _KEYWORDS:
            text = self.name
        else:
            text = '"' + self.name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return text if self.kind == "any" else f"{text}::{self.kind}"


@dataclass(frozen=True, slots=True)
class StringLit:
    value: str
    span: Span = field(default=_NO_SPAN, compare=False, kw_only=True)

    def __str__(self) -> str:
        return "'" + self.value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True, slots=True)
class NumberLit:
    value: int | float
    span: Span = field(default=_NO_SPAN, compare=False, kw_only=True)

    def __str__(self) -> str:
        if isinstance(self.value, float) and math.isinf(self.value):
            # 1e999 is what the lexer turns into inf, so it prints back to itself.
            return "1e999" if self.value > 0 else "-1e999"
        return repr(self.value)


@dataclass(frozen=True, slots=True)
class BoolLit:
    value: bool
    span: Span = field(default=_NO_SPAN, compare=False, kw_only=True)

    def __str__(self) -> str:
        return "true" if self.value else "false"


@dataclass(frozen=True, slots=True)
class RegexLit:
    """A `/pattern/` literal; `pattern` is unescaped (`\\/` became `/`), `regex` its compilation."""

    pattern: str
    span: Span = field(default=_NO_SPAN, compare=False, kw_only=True)
    regex: re.Pattern[str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", _compile_regex(self.pattern))

    def __str__(self) -> str:
        return "/" + self.pattern.replace("/", "\\/") + "/"


def _compile_regex(pattern: str) -> re.Pattern[str]:
    # `re` warns (FutureWarning) about some valid patterns, e.g. "[[a]"; a where clause is not
    # Python source, so those warnings would only be noise (or errors under -W error).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return re.compile(pattern)


Value = StringLit | NumberLit | BoolLit | RegexLit


@dataclass(frozen=True, slots=True)
class Compare:
    """`ref op value`. `op` is one of = != < <= > >= =~ !~ (`<>` is normalized to `!=`)."""

    op: str
    ref: Ref
    value: Value
    span: Span = field(default=_NO_SPAN, compare=False, kw_only=True)

    def __str__(self) -> str:
        return f"{self.ref} {self.op} {self.value}"


@dataclass(frozen=True, slots=True)
class And:
    """Conjunction of two or more operands (nested ANDs are flattened)."""

    operands: tuple[WhereExpr, ...]
    span: Span = field(default=_NO_SPAN, compare=False, kw_only=True)

    def __str__(self) -> str:
        return " and ".join(_wrap(o, 2) for o in self.operands)


@dataclass(frozen=True, slots=True)
class Or:
    """Disjunction of two or more operands (nested ORs are flattened)."""

    operands: tuple[WhereExpr, ...]
    span: Span = field(default=_NO_SPAN, compare=False, kw_only=True)

    def __str__(self) -> str:
        return " or ".join(_wrap(o, 1) for o in self.operands)


@dataclass(frozen=True, slots=True)
class Not:
    operand: WhereExpr
    span: Span = field(default=_NO_SPAN, compare=False, kw_only=True)

    def __str__(self) -> str:
        return "not " + _wrap(self.operand, 2)


WhereExpr = Compare | And | Or | Not

_PRECEDENCE: dict[type, int] = {Or: 1, And: 2, Not: 3, Compare: 4}


def _wrap(node: WhereExpr, parent: int) -> str:
    # Parenthesize a child that binds looser than (or, for n-ary nodes, as loosely as) its parent,
    # so str() re-parses to the same tree shape.
    text = str(node)
    return f"({text})" if _PRECEDENCE[type(node)] <= parent else text


# ---------------------------------------------------------------------------------------------
# Lexer
# ---------------------------------------------------------------------------------------------

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

_CMP_TOKENS = {"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "EREGEX", "NREGEX"}

t_ignore = " \t\r\n"


def _span(text: str, start: int, end: int) -> Span:
    line = text.count("\n", 0, start) + 1
    col = start - text.rfind("\n", 0, start)
    return Span(line, col, max(1, end - start))


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


# Function rules match in definition order, so longer operators come before their prefixes.
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
        _compile_regex(pattern)
    except re.error as e:
        offset = 0 if e.pos is None else where[e.pos] + 1 if e.pos < len(where) else len(raw) + 1
        start = t.lexpos + offset
        length = len(t.value) - offset if e.pos is None else 1
        raise DslSyntaxError(
            f"invalid regex: {e.msg}",
            _span(t.lexer.lexdata, start, start + length),
            t.lexer.lexdata,
        ) from None
    except (OverflowError, RecursionError, ValueError) as e:
        raise DslSyntaxError(
            f"invalid regex: {e}",
            _span(t.lexer.lexdata, t.lexpos, t.lexpos + len(t.value)),
            t.lexer.lexdata,
        ) from None
    t.value = pattern
    return t


def t_NUMBER(t: Any) -> Any:
    r"-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?"
    text = t.value
    t.value = float(text) if any(c in text for c in ".eE") else int(text)
    return t


def t_IDENT(t: Any) -> Any:
    r"[^\W\d]\w*"
    t.type = _KEYWORDS.get(t.value.lower(), "IDENT")
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
        raise DslSyntaxError(_UNTERMINATED[c], _span(text, start, end), text)
    raise DslSyntaxError(f"unexpected character {c!r}", _span(text, start, start + 1), text)


# ---------------------------------------------------------------------------------------------
# Grammar. Every nonterminal's value is a _Node (node, start, end, depth) so spans cover the
# whole construct and nesting depth is known without walking the tree.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Node:
    node: Any
    start: int
    end: int
    depth: int = 1


class _Fail(Exception):
    """Raised by p_error; parse_where turns it into a DslSyntaxError with context."""

    def __init__(self, tok: Any) -> None:
        self.tok = tok


precedence = (
    ("left", "OR"),
    ("left", "AND"),
    ("right", "NOT"),
)


def _text(p: Any) -> str:
    return str(p.lexer.text)


def _check_depth(p: Any, n: _Node) -> _Node:
    if n.depth > MAX_DEPTH:
        text = _text(p)
        raise DslSyntaxError(
            f"where clause is nested too deeply (more than {MAX_DEPTH} levels)",
            _span(text, n.start, n.end),
            text,
        )
    return n


def p_expr_or(p: Any) -> None:
    """expr : expr OR expr"""
    a, b = p[1], p[3]
    ops = _flatten(a.node, Or) + _flatten(b.node, Or)
    text = _text(p)
    node = Or(ops, span=_span(text, a.start, b.end))
    p[0] = _check_depth(p, _Node(node, a.start, b.end, _nary_depth(a, b, Or)))


def p_expr_and(p: Any) -> None:
    """expr : expr AND expr"""
    a, b = p[1], p[3]
    ops = _flatten(a.node, And) + _flatten(b.node, And)
    text = _text(p)
    node = And(ops, span=_span(text, a.start, b.end))
    p[0] = _check_depth(p, _Node(node, a.start, b.end, _nary_depth(a, b, And)))


def _nary_depth(a: _Node, b: _Node, kind: type[And] | type[Or]) -> int:
    # An operand of the same kind is merged into the new node, so it adds no level.
    return max(x.depth - 1 if isinstance(x.node, kind) else x.depth for x in (a, b)) + 1


def _flatten(node: WhereExpr, kind: type[And] | type[Or]) -> tuple[WhereExpr, ...]:
    return node.operands if isinstance(node, kind) else (node,)


def p_expr_not(p: Any) -> None:
    """expr : NOT expr"""
    a = p[2]
    start = p.lexpos(1)
    node = Not(a.node, span=_span(_text(p), start, a.end))
    p[0] = _check_depth(p, _Node(node, start, a.end, a.depth + 1))


def p_expr_paren(p: Any) -> None:
    """expr : LPAREN expr RPAREN"""
    a = p[2]
    # Keep the inner node, but let depth count the parentheses: they are where nesting comes from.
    p[0] = _check_depth(p, _Node(a.node, p.lexpos(1), p.lexpos(3) + 1, a.depth + 1))


def p_expr_comparison(p: Any) -> None:
    """expr : comparison"""
    p[0] = p[1]


def p_cmpop(p: Any) -> None:
    """cmpop : EQ
    | NEQ
    | LT
    | LTE
    | GT
    | GTE
    | EREGEX
    | NREGEX"""
    op = "!=" if p[1] == "<>" else p[1]
    p[0] = _Node(op, p.lexpos(1), p.lexpos(1) + len(p[1]))


_FLIP = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def p_comparison(p: Any) -> None:
    """comparison : operand cmpop operand"""
    left, opn, right = p[1], p[2], p[3]
    op: str = opn.node
    text = _text(p)
    whole = _span(text, left.start, right.end)

    def fail(cls: type[DslError], msg: str, at: _Node) -> NoReturn:
        raise cls(msg, _span(text, at.start, at.end), text)

    if op in ("=~", "!~"):
        if not isinstance(right.node, RegexLit):
            fail(DslSyntaxError, f"'{op}' needs a regex on the right, like /pattern/", right)
        if not isinstance(left.node, Ref):
            fail(DslTypeError, f"'{op}' needs a tag or field reference on the left", left)
        p[0] = _Node(Compare(op, left.node, right.node, span=whole), left.start, right.end)
        return
    for side in (left, right):
        if isinstance(side.node, RegexLit):
            fail(DslSyntaxError, "a regex can only be used with =~ or !~", side)
    if isinstance(left.node, Ref) and isinstance(right.node, Ref):
        raise DslTypeError(
            f"cannot compare two references ({left.node} and {right.node}); "
            "compare a tag or field with a literal",
            whole,
            text,
        )
    if not isinstance(left.node, Ref) and not isinstance(right.node, Ref):
        raise DslTypeError("a comparison needs a tag or field reference on one side", whole, text)
    if isinstance(left.node, Ref):
        ref, value = left, right
    else:
        ref, value, op = right, left, _FLIP[op]
    if isinstance(value.node, BoolLit) and op not in ("=", "!="):
        raise DslTypeError("booleans can only be compared with = or !=", whole, text)
    if ref.node.kind == "tag" and isinstance(value.node, NumberLit | BoolLit):
        fail(DslTypeError, f"tag values are strings: compare {ref.node} with a string", value)
    p[0] = _Node(Compare(op, ref.node, value.node, span=whole), left.start, right.end)


def p_operand_ref(p: Any) -> None:
    """operand : ref"""
    p[0] = p[1]


def p_operand_string(p: Any) -> None:
    """operand : STRING"""
    _literal(p, StringLit)


def p_operand_number(p: Any) -> None:
    """operand : NUMBER"""
    _literal(p, NumberLit)


def p_operand_regex(p: Any) -> None:
    """operand : REGEX"""
    _literal(p, RegexLit)


def p_operand_bool(p: Any) -> None:
    """operand : TRUE
    | FALSE"""
    start = p.lexpos(1)
    end = start + len(p[1])
    p[0] = _Node(BoolLit(p[1].lower() == "true", span=_span(_text(p), start, end)), start, end)


def _literal(p: Any, cls: Any) -> None:
    start = p.lexpos(1)
    end = p.lexer.end_of(start)
    p[0] = _Node(cls(p[1], span=_span(_text(p), start, end)), start, end)


def p_ref(p: Any) -> None:
    """ref : IDENT
    | QIDENT"""
    start = p.lexpos(1)
    end = p.lexer.end_of(start)
    p[0] = _Node(Ref(p[1], span=_span(_text(p), start, end)), start, end)


def p_ref_typed(p: Any) -> None:
    """ref : IDENT DCOLON IDENT
    | QIDENT DCOLON IDENT"""
    text = _text(p)
    kind = p[3].lower()
    start, kpos = p.lexpos(1), p.lexpos(3)
    end = kpos + len(p[3])
    if kind not in ("tag", "field"):
        raise DslSyntaxError(
            f"expected 'tag' or 'field' after '::', got '{p[3]}'", _span(text, kpos, end), text
        )
    p[0] = _Node(Ref(p[1], kind, span=_span(text, start, end)), start, end)


def p_error(tok: Any) -> NoReturn:
    raise _Fail(tok)


_LEXER = lex.lex(optimize=False, errorlog=lex.NullLogger())
_PARSER = yacc.yacc(
    debug=False,
    write_tables=False,
    errorlog=yacc.NullLogger(),
    tabmodule="_kapacitor_match_where_tab_never_written",
)


class _Tokens:
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


def parse_where(text: str) -> WhereExpr:
    """Parse a where clause; raises DslSyntaxError / DslTypeError (never anything else)."""
    ts = _Tokens(text)
    try:
        result = _PARSER.parse(lexer=ts)
    except _Fail as fail:
        raise _syntax_error(ts, fail.tok) from None
    except DslError:
        raise
    except RecursionError:
        raise DslSyntaxError("where clause is nested too deeply", Span(1, 1), text) from None
    node: WhereExpr = result.node
    return node


def _describe(ts: _Tokens, tok: Any) -> str:
    src = ts.source(tok)
    if len(src) > 30:
        src = src[:27] + "..."
    if tok.type == "STRING":
        return f"string {src}"
    if tok.type == "REGEX":
        return f"regex {src}"
    return f"'{src}'"


def _syntax_error(ts: _Tokens, tok: Any) -> DslSyntaxError:
    text = ts.text
    if tok is None:
        prev = ts.seen[-1] if ts.seen else None
        at = _span(text, len(text), len(text))
    else:
        prev = ts.seen[-2] if len(ts.seen) >= 2 else None
        at = _span(text, tok.lexpos, ts.end_of(tok.lexpos))
    open_parens: list[int] = []
    for t in ts.seen if tok is None else ts.seen[:-1]:
        if t.type == "LPAREN":
            open_parens.append(t.lexpos)
        elif t.type == "RPAREN" and open_parens:
            open_parens.pop()

    if prev is None:
        msg = "empty where clause" if tok is None else f"unexpected {_describe(ts, tok)}"
    elif prev.type in _CMP_TOKENS:
        msg = f"expected a value after '{ts.source(prev)}'"
    elif prev.type == "DCOLON":
        msg = "expected 'tag' or 'field' after '::'"
    elif tok is not None and tok.type == "RPAREN" and not open_parens:
        msg = "unmatched ')'"
    elif prev.type in ("AND", "OR", "NOT", "LPAREN") and tok is None:
        msg = f"expected a condition after '{ts.source(prev)}'"
    elif prev.type in ("IDENT", "QIDENT") and (tok is None or tok.type not in _CMP_TOKENS):
        start = prev.lexpos
        if len(ts.seen) >= 3 and ts.seen[-2 if tok is None else -3].type == "DCOLON":
            start = ts.seen[-3 if tok is None else -4].lexpos  # name the whole `"x"::tag`
        msg = f"expected a comparison operator after '{text[start : ts.end_of(prev.lexpos)]}'"
    elif tok is None and open_parens:
        return DslSyntaxError(
            "missing ')' to close this '('", _span(text, open_parens[-1], open_parens[-1] + 1), text
        )
    elif tok is None:
        msg = "unexpected end of where clause"
    else:
        msg = f"unexpected {_describe(ts, tok)}"
    return DslSyntaxError(msg, at, text)
