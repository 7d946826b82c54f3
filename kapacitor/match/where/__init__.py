"""The where-clause language of plugin definitions (`--where`), one module per stage:

tokens (lexer) -> parser (grammar, calling check on each comparison) -> ast (the checked tree).

An InfluxQL-like boolean expression over one point's tags and fields, e.g.
`host = 'a' and (usage_idle < 10 or region =~ /^eu-/)`; the grammar is in `parser`, the rules a
comparison must follow in `check`. Every stage prints: tokens and tree nodes as source text,
which parses back to an equal tree (spans are not compared). Semantics live in
`kapacitor.match.predicate`; see also docs/where.md.
"""

from kapacitor.match.where.ast import (
    MAX_DEPTH,
    And,
    BoolLit,
    Compare,
    Not,
    NumberLit,
    Or,
    Ref,
    RefKind,
    RegexLit,
    StringLit,
    Value,
    WhereExpr,
)
from kapacitor.match.where.parser import parse_where

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
