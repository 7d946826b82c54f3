"""The column kernels of the core operators: unary, math, binary and window aggregates.

Each takes whole columns over the batch's working rows and returns a new one; a row without a
value in an input has none in the output, and so do rows where the operation is undefined
(x/0, x%0, the square root of a negative number).
"""

from __future__ import annotations

import numpy as np

from kapacitor.engine.aggregate import AGGREGATE_FUNCTIONS
from kapacitor.engine.columns import Scalar, Value, Vector, and_valid
from kapacitor.engine.ops import AggOp
from kapacitor.engine.vecfuncs import aggregate_with_empty

COMPARE = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}


def scalar(v: Value | None) -> Scalar:
    assert isinstance(v, Scalar), "planner guarantees a scalar here"
    return v


def vector(v: Value | None) -> Vector:
    assert isinstance(v, Vector), "planner guarantees a window here"
    return v


def apply_unary(op: str, a: Scalar) -> Scalar:
    if op == "-":
        return Scalar(-a.values, a.valid)
    return Scalar((a.values == 0).astype(np.float64), a.valid)


def apply_math(func: str, a: Scalar) -> Scalar:
    x = a.values
    if func == "abs":
        return Scalar(np.abs(x), a.valid)
    if func == "floor":
        return Scalar(np.floor(x), a.valid)
    if func == "ceil":
        return Scalar(np.ceil(x), a.valid)
    if func == "round":  # halves away from zero, like Go's math.Round
        return Scalar(np.copysign(np.floor(np.abs(x) + 0.5), x), a.valid)
    ok = x >= 0
    out = np.sqrt(x, out=np.zeros_like(x), where=ok)
    return Scalar(out, ok if a.valid is None else a.valid & ok)


def apply_binary(op: str, a: Scalar, b: Scalar) -> Scalar:
    """Arithmetic, comparison or logic on two columns; x/0 and x%0 yield no value."""
    valid = and_valid(a.valid, b.valid)
    x, y = a.values, b.values
    if op in COMPARE:
        return Scalar(COMPARE[op](x, y).astype(np.float64), valid)
    if op == "and":
        return Scalar(((x != 0) & (y != 0)).astype(np.float64), valid)
    if op == "or":
        return Scalar(((x != 0) | (y != 0)).astype(np.float64), valid)
    with np.errstate(all="ignore"):
        if op == "+":
            return Scalar(x + y, valid)
        if op == "-":
            return Scalar(x - y, valid)
        if op == "*":
            return Scalar(x * y, valid)
        nonzero = y != 0
        if op == "/":
            out = np.divide(x, y, out=np.zeros_like(x), where=nonzero)
        else:
            out = np.fmod(x, y, out=np.zeros_like(x), where=nonzero)
    return Scalar(out, nonzero if valid is None else valid & nonzero)


def apply_aggregate(op: AggOp, vec: Vector, m: int) -> Scalar:
    """The aggregate `op.func` of each row's window (no value where the window has none)."""
    rows = np.flatnonzero(vec.valid)
    out = np.zeros(m, np.float64)
    valid = vec.valid.copy()
    if rows.shape[0] == 0:
        return Scalar(out, valid)
    if rows.shape[0] == m:
        lo, hi = vec.lo, vec.hi
    else:
        lo, hi = vec.lo[rows], vec.hi[rows]
    if bool((hi == lo).any()):  # empty windows: only windows with every=
        out[rows], valid[rows] = aggregate_with_empty(op.func, vec.ext, lo, hi, op.p)
        return Scalar(out, valid)
    values, ok = AGGREGATE_FUNCTIONS[op.func](vec.ext, lo, hi, op.p)
    out[rows] = values
    if ok is not None:
        valid[rows] = ok
    return Scalar(out, valid)
