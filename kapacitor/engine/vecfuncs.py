"""Vector functions: `distinct(v)`, `top(v, n)`, `bottom(v, n)` turn every row's window into a
new window, for all rows at once.

A derived vector has its own buffer: the selected values of all rows' windows, concatenated,
and per row the range `[lo, hi)` in it (rows without a window get an empty range and stay
invalid). So aggregates work on it unchanged: `avg(top(window(x, 100), 5))`.

* `distinct(v)`: the distinct values, ascending (InfluxQL sorts distinct() output by value).
* `top(v, n)` / `bottom(v, n)`: the n largest / smallest values (all of them when the window
  holds fewer), kept in window order (oldest first); among equal values the older are taken.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from kapacitor.dsl.ast import Call
from kapacitor.dsl.check import BoundCall
from kapacitor.dsl.functions import REGISTRY
from kapacitor.dsl.functions import Kind as FnKind
from kapacitor.engine.aggregate import AGGREGATE_FUNCTIONS
from kapacitor.engine.columns import Vector
from kapacitor.engine.groups import BoolArray, FloatArray, IntArray, exclusive_cumsum, ranges
from kapacitor.engine.ops import Kind, PlanContext, Planners


@dataclass(frozen=True, slots=True)
class VecOp:
    """A vector function over the window column `arg`; `n` for top/bottom."""

    func: str
    arg: int
    n: int = 0

    def inputs(self) -> tuple[int, ...]:
        return (self.arg,)

    def remap(self, f: Callable[[int], int]) -> VecOp:
        return dataclasses.replace(self, arg=f(self.arg))

    def describe(self) -> str:
        tail = f" n={self.n}" if self.func != "distinct" else ""
        return f"vec.{self.func} %{self.arg}{tail}"


def plan_vector(ctx: PlanContext, node: Call, call: BoundCall) -> int:
    """Plan a call of distinct, top or bottom; returns its (window) column."""
    arg = ctx.expr(call.args["v"])
    assert ctx.kind(arg) is Kind.VEC, "the checker takes a vector"
    n = 0 if "n" not in call.args else ctx.checked.constant(call.args["n"])
    assert isinstance(n, int)
    return ctx.emit(VecOp(call.function.name, arg, n), Kind.VEC)


PLANNERS: Planners = {fn: plan_vector for fn in REGISTRY if fn.kind is FnKind.VECTOR}


def _gather(vec: Vector) -> tuple[IntArray, FloatArray, IntArray, IntArray]:
    """The valid rows, all their windows' values concatenated, each value's row (0..k-1) and
    position inside its window."""
    rows = np.flatnonzero(vec.valid).astype(np.int64)
    lo, hi = vec.lo[rows], vec.hi[rows]
    lens = hi - lo
    vals = vec.ext[ranges(lo, lens)]
    row = np.repeat(np.arange(rows.shape[0], dtype=np.int64), lens)
    pos = np.arange(vals.shape[0], dtype=np.int64) - np.repeat(exclusive_cumsum(lens), lens)
    return rows, vals, row, pos


def _build(vec: Vector, rows: IntArray, vals: FloatArray, row: IntArray) -> Vector:
    """A vector whose row `rows[k]` holds the values `vals[row == k]` (row ascending)."""
    m = vec.valid.shape[0]
    counts = np.bincount(row, minlength=rows.shape[0]).astype(np.int64)
    starts = exclusive_cumsum(counts)
    ext = np.empty(vals.shape[0] + 1, np.float64)
    ext[:-1] = vals
    ext[-1] = 0.0
    lo = np.zeros(m, np.int64)
    hi = np.zeros(m, np.int64)
    lo[rows] = starts
    hi[rows] = starts + counts
    return Vector(ext, lo, hi, vec.valid.copy())


def apply_vector(op: VecOp, vec: Vector) -> Vector:
    """`op` applied to every valid row's window."""
    rows, vals, row, pos = _gather(vec)
    if op.func == "distinct":
        order = np.lexsort((vals, row))
        s_vals, s_row = vals[order], row[order]
        keep = np.ones(s_vals.shape[0], np.bool_)
        keep[1:] = (s_vals[1:] != s_vals[:-1]) | (s_row[1:] != s_row[:-1])
        return _build(vec, rows, s_vals[keep], s_row[keep])
    key = -vals if op.func == "top" else vals
    order = np.lexsort((pos, key, row))  # per row: best first, older first among equals
    s_row = row[order]
    starts = np.searchsorted(s_row, np.arange(rows.shape[0], dtype=np.int64))
    rank = np.arange(s_row.shape[0], dtype=np.int64) - starts[s_row]
    chosen = np.zeros(vals.shape[0], np.bool_)
    chosen[order[rank < op.n]] = True  # back in window order
    return _build(vec, rows, vals[chosen], row[chosen])


def aggregate_with_empty(
    func: str, ext: FloatArray, lo: IntArray, hi: IntArray, p: float | None
) -> tuple[FloatArray, BoolArray]:
    """An aggregate over windows some of which are empty (windows with every=): `count` and
    `sum` of an empty window are 0, every other aggregate has no value there."""
    full = hi > lo
    values = np.zeros(lo.shape[0], np.float64)
    ok = np.zeros(lo.shape[0], np.bool_)
    if bool(full.any()):
        v, v_ok = AGGREGATE_FUNCTIONS[func](ext, lo[full], hi[full], p)
        values[full] = v
        ok[full] = True if v_ok is None else v_ok
    if func in ("count", "sum"):
        ok[~full] = True
    return values, ok
