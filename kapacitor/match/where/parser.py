"""The where clause's grammar: tokens -> checked tree (`parse_where(text) -> WhereExpr`).

    where      := expr
    expr       := expr OR expr | expr AND expr | NOT expr | '(' expr ')' | comparison
    comparison := operand op operand
    op         := '=' | '!=' | '<>' | '<' | '<=' | '>' | '>=' | '=~' | '!~'
    operand    := ref | 'string' | number | true | false | /regex/
    ref        := name | "quoted name" | ref-name '::tag' | ref-name '::field'

The grammar is the docstrings of the `p_*` functions below (PLY's LALR(1) `yacc`); precedence
is NOT > AND > OR. Each comparison goes through `check_comparison` as it is reduced. Nesting
deeper than MAX_DEPTH is refused here, while parsing.

`parse_where` raises only DslSyntaxError / DslTypeError (both DslError) with the exact 1-based
line:col of the offending token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

import ply.yacc as yacc

from kapacitor.errors import DslError, DslSyntaxError, Span
from kapacitor.match.where import tokens as _tokens
from kapacitor.match.where.ast import (
    MAX_DEPTH,
    And,
    BoolLit,
    Not,
    NumberLit,
    Or,
    Ref,
    RegexLit,
    StringLit,
    WhereExpr,
)
from kapacitor.match.where.check import check_comparison
from kapacitor.match.where.tokens import COMPARISONS, TokenStream, span_at

__all__ = ["parse_where"]

tokens = _tokens.tokens

precedence = (
    ("left", "OR"),
    ("left", "AND"),
    ("right", "NOT"),
)


# Every nonterminal's value is a _Node (node, start, end, depth) so spans cover the whole
# construct and nesting depth is known without walking the tree.
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


def _text(p: Any) -> str:
    return str(p.lexer.text)


def _check_depth(p: Any, n: _Node) -> _Node:
    if n.depth > MAX_DEPTH:
        text = _text(p)
        raise DslSyntaxError(
            f"where clause is nested too deeply (more than {MAX_DEPTH} levels)",
            span_at(text, n.start, n.end),
            text,
        )
    return n


def p_expr_or(p: Any) -> None:
    """expr : expr OR expr"""
    a, b = p[1], p[3]
    ops = _flatten(a.node, Or) + _flatten(b.node, Or)
    text = _text(p)
    node = Or(ops, span=span_at(text, a.start, b.end))
    p[0] = _check_depth(p, _Node(node, a.start, b.end, _nary_depth(a, b, Or)))


def p_expr_and(p: Any) -> None:
    """expr : expr AND expr"""
    a, b = p[1], p[3]
    ops = _flatten(a.node, And) + _flatten(b.node, And)
    text = _text(p)
    node = And(ops, span=span_at(text, a.start, b.end))
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
    node = Not(a.node, span=span_at(_text(p), start, a.end))
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


def p_comparison(p: Any) -> None:
    """comparison : operand cmpop operand"""
    left, opn, right = p[1], p[2], p[3]
    text = _text(p)
    whole = span_at(text, left.start, right.end)
    compare = check_comparison(left.node, opn.node, right.node, whole, text)
    p[0] = _Node(compare, left.start, right.end)


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
    p[0] = _Node(BoolLit(p[1].lower() == "true", span=span_at(_text(p), start, end)), start, end)


def _literal(p: Any, cls: Any) -> None:
    start = p.lexpos(1)
    end = p.lexer.end_of(start)
    p[0] = _Node(cls(p[1], span=span_at(_text(p), start, end)), start, end)


def p_ref(p: Any) -> None:
    """ref : IDENT
    | QIDENT"""
    start = p.lexpos(1)
    end = p.lexer.end_of(start)
    p[0] = _Node(Ref(p[1], span=span_at(_text(p), start, end)), start, end)


def p_ref_typed(p: Any) -> None:
    """ref : IDENT DCOLON IDENT
    | QIDENT DCOLON IDENT"""
    text = _text(p)
    kind = p[3].lower()
    start, kpos = p.lexpos(1), p.lexpos(3)
    end = kpos + len(p[3])
    if kind not in ("tag", "field"):
        raise DslSyntaxError(
            f"expected 'tag' or 'field' after '::', got '{p[3]}'", span_at(text, kpos, end), text
        )
    p[0] = _Node(Ref(p[1], kind, span=span_at(text, start, end)), start, end)


def p_error(tok: Any) -> NoReturn:
    raise _Fail(tok)


# Built once at import; tables are never written to disk (no parsetab.py).
_PARSER = yacc.yacc(
    debug=False,
    write_tables=False,
    errorlog=yacc.NullLogger(),
    tabmodule="_kapacitor_match_where_tab_never_written",
)


def parse_where(text: str) -> WhereExpr:
    """Parse a where clause; raises DslSyntaxError / DslTypeError (never anything else)."""
    ts = TokenStream(text)
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


def _describe(ts: TokenStream, tok: Any) -> str:
    src = ts.source(tok)
    if len(src) > 30:
        src = src[:27] + "..."
    if tok.type == "STRING":
        return f"string {src}"
    if tok.type == "REGEX":
        return f"regex {src}"
    return f"'{src}'"


def _syntax_error(ts: TokenStream, tok: Any) -> DslSyntaxError:
    text = ts.text
    if tok is None:
        prev = ts.seen[-1] if ts.seen else None
        at = span_at(text, len(text), len(text))
    else:
        prev = ts.seen[-2] if len(ts.seen) >= 2 else None
        at = span_at(text, tok.lexpos, ts.end_of(tok.lexpos))
    open_parens: list[int] = []
    for t in ts.seen if tok is None else ts.seen[:-1]:
        if t.type == "LPAREN":
            open_parens.append(t.lexpos)
        elif t.type == "RPAREN" and open_parens:
            open_parens.pop()

    if prev is None:
        msg = "empty where clause" if tok is None else f"unexpected {_describe(ts, tok)}"
    elif prev.type in COMPARISONS:
        msg = f"expected a value after '{ts.source(prev)}'"
    elif prev.type == "DCOLON":
        msg = "expected 'tag' or 'field' after '::'"
    elif tok is not None and tok.type == "RPAREN" and not open_parens:
        msg = "unmatched ')'"
    elif prev.type in ("AND", "OR", "NOT", "LPAREN") and tok is None:
        msg = f"expected a condition after '{ts.source(prev)}'"
    elif prev.type in ("IDENT", "QIDENT") and (tok is None or tok.type not in COMPARISONS):
        start = prev.lexpos
        if len(ts.seen) >= 3 and ts.seen[-2 if tok is None else -3].type == "DCOLON":
            start = ts.seen[-3 if tok is None else -4].lexpos  # name the whole `"x"::tag`
        msg = f"expected a comparison operator after '{text[start : ts.end_of(prev.lexpos)]}'"
    elif tok is None and open_parens:
        return DslSyntaxError(
            "missing ')' to close this '('",
            span_at(text, open_parens[-1], open_parens[-1] + 1),
            text,
        )
    elif tok is None:
        msg = "unexpected end of where clause"
    else:
        msg = f"unexpected {_describe(ts, tok)}"
    return DslSyntaxError(msg, at, text)
