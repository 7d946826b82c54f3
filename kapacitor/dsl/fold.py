"""Constant folding: the values of expressions known when a script is defined.

The checker calls `fold_unary`/`fold_binary` on operands whose values it knows, so
`let n = 10`, `2 * n` and `1m + 30s` are constants wherever the language wants one (window
sizes, `every=`, percentiles, thresholds). The checker records each value at its node
(`CheckedScript.constant`), where the planner reads it: the written tree is never rewritten.

Folding follows the engine's arithmetic (docs/language.md, "Operations"): ints stay ints
under `+ - * %`, `/` gives a float, `%` keeps the sign of the dividend, durations are int
nanoseconds. What the engine would turn into "no value" on every point (a division by zero,
a result that is not a finite number or overflows 64 bits) is an error here instead, since it
could never produce output.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

from kapacitor.dsl.types import Type

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class FoldError(ValueError):
    """A constant expression with no value (the checker reports it at the expression)."""


def _int(value: int, what: str) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise FoldError(f"{what} overflows 64 bits")
    return value


def _float(value: float) -> float:
    if not math.isfinite(value):
        raise FoldError(f"the result is not a finite number ({value})")
    return value


def _rem(a: int, b: int) -> int:
    """`a % b` with the sign of `a`, as the engine's fmod: -7 % 3 is -1."""
    r = abs(a) % abs(b)
    return -r if a < 0 else r


def _number(op: str, a: int | float, b: int | float, what: str = "the result") -> int | float:
    """`a op b` for numbers (durations are int nanoseconds): ints stay ints but for `/`."""
    if op in ("/", "%") and b == 0:
        raise FoldError("division by zero")
    if op == "/":
        return _float(a / b)
    if isinstance(a, int) and isinstance(b, int):
        value = {"+": a + b, "-": a - b, "*": a * b}.get(op)
        return _int(_rem(a, b) if value is None else value, what)
    if op == "%":
        return _float(math.fmod(a, b))
    return _float({"+": a + b, "-": a - b, "*": a * b}[op])


def _duration(ns: int | float) -> int:
    return _int(round(ns) if isinstance(ns, float) else ns, "the duration")


def fold_binary(op: str, lt: Type, rt: Type, a: object, b: object) -> object | None:
    """The value of `a op b` for constant operands of types `lt` and `rt`, or None when the
    operation is not folded (the checker has already accepted the types)."""
    if op in ("and", "or"):
        assert isinstance(a, bool) and isinstance(b, bool)
        return (a and b) if op == "and" else (a or b)
    if op in _COMPARE:
        return _COMPARE[op](a, b)
    if lt == rt == Type.STRING and op == "+":
        assert isinstance(a, str) and isinstance(b, str)
        return a + b
    if not (lt | rt) & ~(Type.INT | Type.FLOAT | Type.DURATION):
        assert isinstance(a, int | float) and isinstance(b, int | float)
        value = _number(op, a, b, "the duration" if Type.DURATION in (lt, rt) else "the result")
        if Type.DURATION not in (lt, rt) or (lt == rt and op == "/"):
            return value  # numbers, or duration / duration: a float
        return _duration(value)
    return None


def fold_unary(op: str, t: Type, a: object) -> object | None:
    """The value of `op a` (`-` or `not`) for a constant operand of type `t`."""
    if op == "not":
        return not a if isinstance(a, bool) else None
    if isinstance(a, bool) or not isinstance(a, int | float):
        return None
    if t == Type.FLOAT:
        return -a
    return _int(-int(a), "the result")
