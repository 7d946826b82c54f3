"""The where clause's syntax tree.

Every node is a frozen dataclass carrying its Span (not compared). Nodes print back to source
with `str(node)`: the text parses back to an equal tree, so every stage can be shown on its own.

    where      := Compare | And | Or | Not
    Compare    := Ref op Value        (after checking: the reference is always on the left)
    Value      := StringLit | NumberLit | BoolLit | RegexLit
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Literal

from kapacitor.errors import Span
from kapacitor.match.where.tokens import KEYWORDS, NAME_PATTERN, compile_regex

__all__ = [
    "MAX_DEPTH",
    "And",
    "BoolLit",
    "Compare",
    "Not",
    "NumberLit",
    "Operand",
    "Or",
    "Ref",
    "RefKind",
    "RegexLit",
    "StringLit",
    "Value",
    "WhereExpr",
]

# Evaluation and printing recurse over the tree; this keeps them far from Python's stack limit.
MAX_DEPTH = 100

_NO_SPAN = Span(0, 0)
_BARE_NAME = re.compile(NAME_PATTERN + r"\Z")

RefKind = Literal["any", "tag", "field"]


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference to a tag or field. `kind` "any" resolves per point: tag first, then field."""

    name: str
    kind: RefKind = "any"
    span: Span = field(default=_NO_SPAN, compare=False, kw_only=True)

    def __str__(self) -> str:
        if _BARE_NAME.match(self.name) and self.name.lower() not in KEYWORDS:
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
        object.__setattr__(self, "regex", compile_regex(self.pattern))

    def __str__(self) -> str:
        return "/" + self.pattern.replace("/", "\\/") + "/"


Value = StringLit | NumberLit | BoolLit | RegexLit
Operand = Ref | Value  # either side of a comparison as written, before checking


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
