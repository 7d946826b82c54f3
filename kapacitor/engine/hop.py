"""Windows emitted every `every` (hopping or tumbling windows), for all instances at once.

`window(x, N, every=M)`: a count window that yields on the values whose 1-based count c (per
instance, over the values this window received) satisfies `c >= N and c % M == 0`; the
window holds the last N values, that one included.

`window(x, d, every=e[, align=true])`: Kapacitor's `window().period(d).every(e)[.align()]`.
Per instance the window keeps a *next emit* boundary b, first `t0 + e` for the first value's
time t0 (aligned: the next multiple of e after t0). The first value with time `t >= b`
*triggers*: it yields the window of the values with time in `[b - d, b)` (so not itself),
and the next boundary becomes `t + e` (aligned: the next multiple of e after t). A window that
would start before t0 (`b - d < t0`, i.e. incomplete) yields nothing, like Kapacitor's
`.fillPeriod()`; an empty but complete one yields an empty window (count 0).

Finding the triggers is sequential by nature (each boundary depends on the previous trigger),
so it is done by pointer doubling: every row points at the row its trigger would lead to, and
O(log n) rounds of vectorized jumps mark all rows reachable from each instance's first
trigger. No Python code runs per row or per instance.
"""

from __future__ import annotations

import msgspec
import numpy as np

from kapacitor.engine.groups import (
    BoolArray,
    FloatArray,
    Groups,
    IntArray,
    exclusive_cumsum,
    grow,
    ranges,
)
from kapacitor.engine.snapshot import array_from
from kapacitor.engine.window import NO_TIME, WindowSnap, WindowState


def _grouped_left(
    ext_t: IntArray, seg_of: IntArray, seg_end: IntArray, q_seg: IntArray, q_time: IntArray
) -> IntArray:
    """Per query, the first position of segment `q_seg` with time >= `q_time`, or -1.

    `ext_t` is sorted within each segment and segments are laid out in order, so
    (segment, rank of time) is one sorted key.
    """
    if q_seg.shape[0] == 0:
        return np.zeros(0, np.int64)
    uniq = np.unique(np.concatenate((ext_t, q_time)))
    k = uniq.shape[0] + 1
    keys = seg_of * k + np.searchsorted(uniq, ext_t)
    q = q_seg * k + np.searchsorted(uniq, q_time)
    found: IntArray = np.searchsorted(keys, q, side="left").astype(np.int64)
    return np.where(found < seg_end[q_seg], found, -1)


class HopWindowState(WindowState):
    """A window with `every=`: count (`size`, `every`) or time (`span_ns`, `every_ns`, align)."""

    def __init__(
        self,
        *,
        size: int | None = None,
        span_ns: int | None = None,
        every: int | None = None,
        every_ns: int | None = None,
        align: bool = False,
    ) -> None:
        super().__init__(size=size, span_ns=span_ns)
        if size is not None and (every is None or every <= 0):
            raise ValueError("a count window with every= needs every > 0")
        if span_ns is not None and (every_ns is None or every_ns <= 0):
            raise ValueError("a time window with every= needs every_ns > 0")
        self.every = every
        self.every_ns = every_ns
        self.align = align
        self.next_emit: IntArray = np.zeros(0, np.int64)  # time windows; NO_TIME: not started

    def keep(self, idx: IntArray) -> None:
        super().keep(idx)
        self.next_emit = self.next_emit[idx]

    def ensure(self, n: int) -> None:
        super().ensure(n)
        self.next_emit = grow(self.next_emit, n, NO_TIME)

    def nbytes(self) -> int:
        return super().nbytes() + self.next_emit.nbytes

    def _snap(self, n: int) -> WindowSnap:
        snap = super()._snap(n)
        return msgspec.structs.replace(snap, next_emit=self.next_emit[:n].astype("<i8").tobytes())

    def _load(self, snap: WindowSnap, n: int) -> None:
        super()._load(snap, n)
        self.next_emit[:n] = array_from(snap.next_emit, "<i8", n)

    def boundary_after(self, t: IntArray) -> IntArray:
        """The next emit boundary after a trigger (or first value) at time t."""
        e = self.every_ns
        assert e is not None
        if self.align:
            out: IntArray = (t // e + 1) * e
            return out
        return t + e

    def apply(
        self, values: FloatArray, times: IntArray, groups: Groups
    ) -> tuple[FloatArray, IntArray, IntArray, BoolArray]:
        if self.size is not None:
            assert self.every is not None
            ids, gr = groups.ids, groups.group_of_row
            c = self.seen[ids][gr] + groups.rank + 1
            ext, lo, hi, valid = super().apply(values, times, groups)
            return ext, lo, hi, valid & (c % self.every == 0)
        return self._apply_time(values, times, groups)

    def _apply_time(
        self, values: FloatArray, times: IntArray, groups: Groups
    ) -> tuple[FloatArray, IntArray, IntArray, BoolArray]:
        assert self.span_ns is not None
        d = self.span_ns
        ids, gr = groups.ids, groups.group_of_row
        nseg = ids.shape[0]
        m = times.shape[0]
        tl = self.tail_len[ids]
        seg_len = tl + groups.counts
        seg_start = exclusive_cumsum(seg_len)
        seg_end = seg_start + seg_len
        total = int(seg_end[-1]) if nseg else 0
        ext = np.empty(total + 1, np.float64)
        ext[total] = 0.0
        ext_t = np.empty(total, np.int64)
        pos = (seg_start + tl)[gr] + groups.rank
        ext[pos] = values
        ext_t[pos] = times
        if int(tl.sum()):
            dst = ranges(seg_start, tl)
            src = ranges(self.tail_start[ids], tl)
            ext[dst] = self.pool_vals[src]
            ext_t[dst] = self.pool_times[src]
        seg_of = np.repeat(np.arange(nseg, dtype=np.int64), seg_len)
        segs = np.arange(nseg, dtype=np.int64)

        unset = self.first[ids] == NO_TIME
        first_new = times[groups.starts]
        self.first[ids[unset]] = first_new[unset]
        ne = self.next_emit[ids].copy()
        ne[unset] = self.boundary_after(first_new[unset])
        first_t = self.first[ids]

        # Every row's successor: the first row at or after the boundary its trigger would set.
        target = self.boundary_after(times)
        succ = np.full(total + 1, total, np.int64)
        nxt = _grouped_left(ext_t, seg_of, seg_end, gr, target)
        succ[pos] = np.where(nxt >= 0, nxt, total)
        start = _grouped_left(ext_t, seg_of, seg_end, segs, ne)
        reach = np.zeros(total + 1, np.bool_)
        reach[start[start >= 0]] = True
        up = succ
        while True:
            live = np.flatnonzero(reach[:total])
            reach[up[live]] = True
            if bool((up[live] == total).all()):
                break
            up = up[up]
        reach[total] = False

        row_of_pos = np.full(total, -1, np.int64)
        row_of_pos[pos] = np.arange(m, dtype=np.int64)
        trig_pos = np.flatnonzero(reach[:total]).astype(np.int64)
        trig_row = row_of_pos[trig_pos]
        trig_seg = gr[trig_row]
        # Each trigger's boundary: the previous trigger's target, or the carried boundary.
        bound = ne[trig_seg].copy()
        if trig_row.shape[0] > 1:
            same = trig_seg[1:] == trig_seg[:-1]
            bound[1:] = np.where(same, target[trig_row[:-1]], bound[1:])
        if trig_row.shape[0]:
            last = np.ones(trig_row.shape[0], np.bool_)
            last[:-1] = trig_seg[1:] != trig_seg[:-1]
            ne[trig_seg[last]] = target[trig_row[last]]
        self.next_emit[ids] = ne

        lo = np.zeros(m, np.int64)
        hi = np.zeros(m, np.int64)
        valid = np.zeros(m, np.bool_)
        wlo = _grouped_left(ext_t, seg_of, seg_end, trig_seg, bound - d)
        lo[trig_row] = np.where(wlo >= 0, wlo, trig_pos)
        hi[trig_row] = trig_pos
        valid[trig_row] = (bound - d) >= first_t[trig_seg]

        keep = _grouped_left(ext_t, seg_of, seg_end, segs, ne - d)
        keep_from = np.where(keep >= 0, keep, seg_end)
        self._store(ids, ext, ext_t, keep_from, seg_end - keep_from)
        return ext, lo, hi, valid
