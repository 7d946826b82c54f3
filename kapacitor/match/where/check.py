"""The where clause's checks: each comparison as written -> a checked `Compare`.

Every comparison needs exactly one tag or field reference and one literal; a literal on the left
is flipped to the right (`1 < x` is `x > 1`). A regex goes only on the right of `=~` / `!~`, and
those operators need one; booleans compare only with `=` / `!=`; a `::tag` reference compares
only with strings or regexes (tag values are strings).

The parser calls `check_comparison` as soon as it has read a whole comparison, so lexer, syntax
and check errors are reported in the order the parser meets them.
"""

from __future__ import annotations

from typing import NoReturn

from kapacitor.errors import DslError, DslSyntaxError, DslTypeError, Span
from kapacitor.match.where.ast import BoolLit, Compare, NumberLit, Operand, Ref, RegexLit

__all__ = ["check_comparison"]

# The operator that means the same with its operands swapped.
_FLIP = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def check_comparison(left: Operand, op: str, right: Operand, span: Span, source: str) -> Compare:
    """`left op right` as a Compare; DslSyntaxError / DslTypeError if it breaks a rule.

    `span` covers the whole comparison; `source` is the clause, for the error's context.
    """

    def fail(cls: type[DslError], msg: str, at: Operand) -> NoReturn:
        raise cls(msg, at.span, source)

    if op in ("=~", "!~"):
        if not isinstance(right, RegexLit):
            fail(DslSyntaxError, f"'{op}' needs a regex on the right, like /pattern/", right)
        if not isinstance(left, Ref):
            fail(DslTypeError, f"'{op}' needs a tag or field reference on the left", left)
        return Compare(op, left, right, span=span)
    for side in (left, right):
        if isinstance(side, RegexLit):
            fail(DslSyntaxError, "a regex can only be used with =~ or !~", side)
    if isinstance(left, Ref) and isinstance(right, Ref):
        raise DslTypeError(
            f"cannot compare two references ({left} and {right}); "
            "compare a tag or field with a literal",
            span,
            source,
        )
    if isinstance(left, Ref):
        ref, value = left, right
    elif isinstance(right, Ref):
        ref, value, op = right, left, _FLIP[op]
    else:
        raise DslTypeError("a comparison needs a tag or field reference on one side", span, source)
    assert not isinstance(value, Ref)
    if isinstance(value, BoolLit) and op not in ("=", "!="):
        raise DslTypeError("booleans can only be compared with = or !=", span, source)
    if ref.kind == "tag" and isinstance(value, NumberLit | BoolLit):
        fail(DslTypeError, f"tag values are strings: compare {ref} with a string", value)
    return Compare(op, ref, value, span=span)
