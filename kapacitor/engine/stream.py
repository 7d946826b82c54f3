"""Stateful stream functions: derivative, difference, elapsed, cumulative_sum, state_duration,
state_count, changed, sigma, sample (moving_average is planned as `avg(window(x, n))`).

Each works per instance over the rows where its argument has a value, in arrival order, and
carries a few numbers per instance between batches (the previous value and time, a running
sum, ...) in arrays indexed by the runtime's dense instance id. Like windows, a batch is
computed with index arithmetic over the rows sorted by instance: the "previous row" of an
instance's first row in the batch is its carried state; no Python code runs per row or per
instance. See docs/engine.md ("Stream functions") for the exact semantics.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import msgspec
import numpy as np
import numpy.typing as npt

from kapacitor.dsl.ast import Call
from kapacitor.dsl.check import BoundCall
from kapacitor.dsl.functions import REGISTRY
from kapacitor.dsl.functions import Kind as FnKind
from kapacitor.dsl.types import Type
from kapacitor.engine.columns import Scalar
from kapacitor.engine.groups import BoolArray, FloatArray, Groups, IntArray, groups_of, grow
from kapacitor.engine.ops import AggOp, CountWindowOp, Kind, PlanContext, Planners, duration_text
from kapacitor.engine.snapshot import Section, array_from, decode_part, encode_part
from kapacitor.errors import CodecError

NO_TIME = np.iinfo(np.int64).min
SECOND = 1_000_000_000
_BOOLEAN = frozenset({"changed"})  # functions yielding a truth value


@dataclass(frozen=True, slots=True)
class StreamOp:
    """One stateful stream function over column `arg`.

    `unit_ns`: derivative, elapsed, state_duration; `n` / `every_ns`: sample by count / time.
    """

    func: str
    arg: int
    unit_ns: int = 0
    n: int = 0
    every_ns: int = 0
    non_negative: bool = False
    text: str = dataclasses.field(compare=False, default="")  # options as written

    def inputs(self) -> tuple[int, ...]:
        return (self.arg,)

    def remap(self, f: Callable[[int], int]) -> StreamOp:
        return dataclasses.replace(self, arg=f(self.arg))

    def describe(self) -> str:
        return f"stream.{self.func} %{self.arg}{self.text}"

    @property
    def timed(self) -> bool:
        """Reads point times, so the runtime must drop late rows (as for time windows)."""
        if self.func == "sample":
            return self.every_ns > 0
        return self.func in ("derivative", "elapsed", "state_duration")

    @property
    def boolean(self) -> bool:
        return self.func in _BOOLEAN


# -- planning --------------------------------------------------------------------------------


def plan_stream(ctx: PlanContext, node: Call, call: BoundCall) -> int:
    """Plan a call of one of the stream functions; returns its column."""
    fn, args, checked = call.function, call.args, ctx.checked
    name = fn.name

    def const(param: str) -> object:
        """The value passed for a constant parameter, or its default."""
        if param in args:
            return checked.constant(args[param])
        p = fn.param(param)
        return False if p is None else p.default

    x = ctx.scalar(args[fn.params[0].name], Kind.NUM, Kind.BOOL)
    if name == "moving_average":
        n = const("n")
        assert isinstance(n, int) and n > 0, "the checker takes a count > 0"
        win = ctx.emit(CountWindowOp(x, n), Kind.VEC)
        return ctx.emit(AggOp("avg", win), Kind.NUM)
    op = _stream_op(ctx, call, x, const)
    return ctx.emit(op, Kind.BOOL if op.boolean else Kind.NUM)


def _stream_op(
    ctx: PlanContext, call: BoundCall, x: int, const: Callable[[str], object]
) -> StreamOp:
    name = call.function.name
    if name in ("derivative", "elapsed", "state_duration"):
        unit = const("unit")
        assert isinstance(unit, int) and unit > 0, "the checker takes a unit > 0"
        node = call.arg("unit")
        text = " unit=" + ("1s" if node is None else duration_text(ctx.checked, node))
        non_negative = bool(const("non_negative"))
        if non_negative:
            text += " non_negative"
        return StreamOp(name, x, unit_ns=unit, non_negative=non_negative, text=text)
    if name == "sample":
        every_node = call.args["every"]
        every = ctx.checked.constant(every_node)
        assert isinstance(every, int) and every > 0, "the checker takes a period > 0"
        if ctx.checked.type_of(every_node) == Type.DURATION:
            text = duration_text(ctx.checked, every_node)
            return StreamOp(name, x, every_ns=every, text=f" every={text}")
        return StreamOp(name, x, n=every, text=f" every={every}")
    return StreamOp(name, x)


# The stream functions but shift (shift.py); moving_average is planned as avg(window(x, n)).
PLANNERS: Planners = {
    fn: plan_stream for fn in REGISTRY if fn.kind is FnKind.STREAM and fn.name != "shift"
}
STREAM_FUNCTIONS = tuple(fn.name for fn in PLANNERS)


# -- running ---------------------------------------------------------------------------------

# Per function: the carried arrays, as name -> (dtype, initial value).
_STATE: dict[str, dict[str, tuple[str, float | int | bool]]] = {
    "derivative": {"val": ("<f8", 0.0), "time": ("<i8", NO_TIME), "has": ("?", False)},
    "difference": {"val": ("<f8", 0.0), "has": ("?", False)},
    "changed": {"val": ("<f8", 0.0), "has": ("?", False)},
    "elapsed": {"time": ("<i8", NO_TIME), "has": ("?", False)},
    "cumulative_sum": {"sum": ("<f8", 0.0)},
    "state_duration": {"start": ("<i8", NO_TIME)},  # NO_TIME: the condition is not true
    "state_count": {"count": ("<i8", 0)},  # 0: the condition is not true
    "sigma": {"n": ("<i8", 0), "mean": ("<f8", 0.0), "m2": ("<f8", 0.0)},
    "sample": {"seen": ("<i8", 0), "bucket": ("<i8", NO_TIME)},
}


class StreamState:
    """The carried per-instance state of one StreamOp (an InstanceState)."""

    section: ClassVar[Section] = "streams"

    def __init__(self, op: StreamOp) -> None:
        self.op = op
        self.spec = _STATE[op.func]
        self.arrays: dict[str, npt.NDArray[Any]] = {
            name: np.full(0, fill, np.dtype(dtype)) for name, (dtype, fill) in self.spec.items()
        }

    def ensure(self, n: int) -> None:
        for name, (_, fill) in self.spec.items():
            self.arrays[name] = grow(self.arrays[name], n, fill)

    def keep(self, idx: IntArray) -> None:
        """Keep only the instances `idx`, renumbered in that order."""
        self.arrays = {name: arr[idx] for name, arr in self.arrays.items()}

    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.arrays.values())

    def snapshot(self, n: int) -> msgspec.Raw:
        return encode_part(
            {
                name: self.arrays[name][:n].astype(dtype).tobytes()
                for name, (dtype, _) in self.spec.items()
            }
        )

    def restore(self, data: msgspec.Raw, n: int) -> None:
        saved = decode_part(data, dict[str, bytes])
        if set(saved) != set(self.spec):
            raise CodecError(f"snapshot of {self.op.func}() holds {sorted(saved)}")
        self.ensure(n)
        for name, (dtype, _) in self.spec.items():
            try:
                self.arrays[name][:n] = array_from(saved[name], dtype, n)
            except CodecError as e:
                raise CodecError(f"snapshot array {name} of {self.op.func}(): {e}") from e

    def apply(self, arg: Scalar, times: IntArray, inst: IntArray, groups: Groups) -> Scalar:
        """Feed the working rows (grouped by instance) and return the function's column."""
        m = int(times.shape[0])
        rows = arg.valid_rows()
        if rows is None:
            out, ok = _IMPL[self.op.func](self, arg.values, times, groups)
            return Scalar(out, ok)
        full = np.zeros(m, np.float64)
        full_ok = np.zeros(m, np.bool_)
        if rows.shape[0] == 0:
            return Scalar(full, full_ok)
        sub = groups_of(inst[rows])
        out, ok = _IMPL[self.op.func](self, arg.values[rows], times[rows], sub)
        full[rows] = out
        full_ok[rows] = True if ok is None else ok
        return Scalar(full, full_ok)


_Result = tuple[FloatArray, BoolArray | None]


def _prev(a: npt.NDArray[Any], g: Groups, carried: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Each row's previous row's value in its group; the carried value for a group's first."""
    p = np.empty_like(a)
    p[1:] = a[:-1]
    p[g.starts] = carried[g.ids]
    return p


def _has_prev(g: Groups, has: BoolArray) -> BoolArray:
    ok = np.ones(g.rank.shape[0], np.bool_)
    ok[g.starts] = has[g.ids]
    return ok


def grouped_cumsum(a: FloatArray, rank: IntArray) -> FloatArray:
    """Running sums restarting at every group (rank 0), each group summed on its own.

    A segmented Hillis-Steele scan: log2(longest group) vectorized passes; sums of one
    instance never pick up rounding from another's values.
    """
    out = a.copy()
    k = 1
    longest = int(rank.max()) if rank.shape[0] else 0
    while k <= longest:
        idx = np.flatnonzero(rank >= k)
        out[idx] = out[idx] + out[idx - k]
        k *= 2
    return out


def _derivative(s: StreamState, v: FloatArray, t: IntArray, g: Groups) -> _Result:
    arr = s.arrays
    m = v.shape[0]
    pt = _prev(t, g, arr["time"])
    has_prev = _has_prev(g, arr["has"])
    # A row whose time equals the previous row's is ignored: the reference stays the first
    # row of the previous run of equal times (the previous row's time is always its time).
    run_start = (t != pt) | ~has_prev
    idx = np.arange(m, dtype=np.int64)
    rs = np.maximum.accumulate(np.where(run_start, idx, -1))
    prs = np.empty(m, np.int64)
    prs[1:] = rs[:-1]
    prs[g.starts] = -1
    in_group = prs >= g.starts[g.group_of_row]
    ref = np.where(in_group, v[np.maximum(prs, 0)], arr["val"][g.ids][g.group_of_row])
    diff = v - ref
    with np.errstate(all="ignore"):
        out = diff / ((t - pt).astype(np.float64) / s.op.unit_ns)
    ok = run_start & has_prev
    if s.op.non_negative:
        ok &= diff >= 0
    last = g.last_rows
    lr = rs[last]
    arr["val"][g.ids] = np.where(lr >= g.starts, v[np.maximum(lr, 0)], arr["val"][g.ids])
    arr["time"][g.ids] = t[last]
    arr["has"][g.ids] = True
    return np.where(ok, out, 0.0), ok


def _difference(s: StreamState, v: FloatArray, t: IntArray, g: Groups) -> _Result:
    arr = s.arrays
    pv = _prev(v, g, arr["val"])
    ok = _has_prev(g, arr["has"])
    arr["val"][g.ids] = v[g.last_rows]
    arr["has"][g.ids] = True
    if s.op.func == "changed":
        return ((v != pv) & ok).astype(np.float64), None
    return v - pv, ok


def _elapsed(s: StreamState, v: FloatArray, t: IntArray, g: Groups) -> _Result:
    arr = s.arrays
    pt = _prev(t, g, arr["time"])
    ok = _has_prev(g, arr["has"])
    out = np.where(ok, t - pt, 0).astype(np.float64) / s.op.unit_ns
    arr["time"][g.ids] = t[g.last_rows]
    arr["has"][g.ids] = True
    return out, ok


def _cumulative_sum(s: StreamState, v: FloatArray, t: IntArray, g: Groups) -> _Result:
    total = s.arrays["sum"]
    out = grouped_cumsum(v, g.rank) + total[g.ids][g.group_of_row]
    total[g.ids] = out[g.last_rows]
    return out, None


def _runs(cond: BoolArray, g: Groups, carried: BoolArray) -> tuple[IntArray, BoolArray]:
    """For each row the anchor of its run: the row starting its run of true conditions, or
    its group's first row (then `cont` says whether that run continues a carried one)."""
    m = cond.shape[0]
    prev = np.empty(m, np.bool_)
    prev[1:] = cond[:-1]
    anchor = cond & ~prev
    anchor[g.starts] = True
    idx = np.arange(m, dtype=np.int64)
    at = np.maximum.accumulate(np.where(anchor, idx, 0))
    cont = np.zeros(m, np.bool_)
    cont[g.starts] = carried[g.ids] & cond[g.starts]
    return at, cont


def _state_duration(s: StreamState, v: FloatArray, t: IntArray, g: Groups) -> _Result:
    start = s.arrays["start"]
    cond = v != 0
    at, cont = _runs(cond, g, start != NO_TIME)
    began = np.where(cont, start[g.ids][g.group_of_row], t)  # meaningful at anchors
    run_start = began[at]
    out = np.where(cond, (t - run_start).astype(np.float64) / s.op.unit_ns, -1.0)
    last = g.last_rows
    start[g.ids] = np.where(cond[last], run_start[last], NO_TIME)
    return out, None


def _state_count(s: StreamState, v: FloatArray, t: IntArray, g: Groups) -> _Result:
    count = s.arrays["count"]
    cond = v != 0
    at, cont = _runs(cond, g, count > 0)
    base = np.where(cont, count[g.ids][g.group_of_row], 0)
    idx = np.arange(cond.shape[0], dtype=np.int64)
    n = idx - at + 1 + base[at]
    out = np.where(cond, n, -1).astype(np.float64)
    last = g.last_rows
    count[g.ids] = np.where(cond[last], n[last], 0)
    return out, None


def _sigma(s: StreamState, v: FloatArray, t: IntArray, g: Groups) -> _Result:
    arr = s.arrays
    n0, mean0, m20 = arr["n"][g.ids], arr["mean"][g.ids], arr["m2"][g.ids]
    # Sums of deviations from a per-instance reference (the carried mean, else the first
    # value) keep the variance free of cancellation.
    ref = np.where(n0 > 0, mean0, v[g.starts])
    gr = g.group_of_row
    d = v - ref[gr]
    sd = grouped_cumsum(d, g.rank)
    sq = grouped_cumsum(d * d, g.rank) + m20[gr]
    n = (n0[gr] + g.rank + 1).astype(np.float64)
    mean = ref[gr] + sd / n
    m2 = np.maximum(sq - sd * sd / n, 0.0)
    with np.errstate(all="ignore"):
        std = np.sqrt(m2 / (n - 1))
        out = np.where((n > 2) & (std > 0), np.abs(v - mean) / std, 0.0)
    last = g.last_rows
    arr["n"][g.ids] = n0 + g.counts
    arr["mean"][g.ids] = mean[last]
    arr["m2"][g.ids] = m2[last]
    return out, None


def _sample(s: StreamState, v: FloatArray, t: IntArray, g: Groups) -> _Result:
    arr = s.arrays
    if s.op.every_ns:
        bucket = np.floor_divide(t, s.op.every_ns)
        ok = bucket != _prev(bucket, g, arr["bucket"])
        arr["bucket"][g.ids] = bucket[g.last_rows]
        return v, ok
    seen = arr["seen"]
    ok = (seen[g.ids][g.group_of_row] + g.rank) % s.op.n == 0
    seen[g.ids] += g.counts
    return v, ok


_IMPL: dict[str, Callable[[StreamState, FloatArray, IntArray, Groups], _Result]] = {
    "derivative": _derivative,
    "difference": _difference,
    "changed": _difference,
    "elapsed": _elapsed,
    "cumulative_sum": _cumulative_sum,
    "state_duration": _state_duration,
    "state_count": _state_count,
    "sigma": _sigma,
    "sample": _sample,
}
