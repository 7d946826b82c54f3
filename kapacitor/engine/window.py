"""Count and time windows, computed for all instances of a batch at once.

Per instance a window carries a *tail*: the last values it may still need (at most N-1 for a
count window; those newer than `newest - span` for a time window). For a batch, every
instance's tail is laid out followed by its new rows in one buffer `ext`
(`[tail_a | new_a | tail_b | new_b ...]`), so the window of each new row is the contiguous
range `ext[lo:hi]` ending at that row. Only index arithmetic runs per batch; no Python code
runs per instance or per row.

Semantics, per instance, over the rows where the window's input has a value:

* `window(x, N)` holds the last N values and yields on every row once N values have been seen.
* `window(x, d)` holds the values with time in `(t - d, t]` for the row at `t` (rows with the
  same time that arrive later are not yet in it) and yields once `t - d >= ` the time of the
  first value this window ever received for the instance, i.e. once history covers the span.
  Times must not decrease per instance; the runtime drops late rows before they get here.

Tails live in one append-only pool with per-instance (start, length); the pool is compacted
when it fills up, so the cost stays proportional to the batch, not to the number of instances.
"""

from __future__ import annotations

from typing import ClassVar

import msgspec
import numpy as np

from kapacitor.engine.columns import Scalar, Vector
from kapacitor.engine.groups import (
    BoolArray,
    FloatArray,
    Groups,
    IntArray,
    exclusive_cumsum,
    groups_of,
    grow,
    ranges,
)
from kapacitor.engine.snapshot import Section, array_from, decode_part, encode_part
from kapacitor.errors import CodecError

NO_TIME = np.iinfo(np.int64).min
_KEY_LIMIT = 1 << 62


class WindowSnap(msgspec.Struct, frozen=True):
    """A window's part of a snapshot: tail lengths, the tails' values and times back to back,
    and the per-instance counters (little-endian arrays)."""

    lens: bytes
    vals: bytes
    times: bytes
    seen: bytes
    first: bytes
    next_emit: bytes = b""  # windows with every= (hop.py)


class WindowState:
    """The tails of one window operator for every instance of a runtime (an InstanceState).

    Exactly one of `size` (count window) and `span_ns` (time window) is set. A time window
    with `keep_before=1` also keeps the newest value that fell out of it, so `ext[lo - 1]` is
    the value at or before `t - span` (what shift() reads).
    """

    section: ClassVar[Section] = "windows"

    def __init__(
        self, *, size: int | None = None, span_ns: int | None = None, keep_before: int = 0
    ) -> None:
        if (size is None) == (span_ns is None):
            raise ValueError("a window has either a size or a span")
        self.size = size
        self.span_ns = span_ns
        self.keep_before = keep_before
        self.pool_vals: FloatArray = np.zeros(1024, np.float64)
        self.pool_times: IntArray = np.zeros(1024, np.int64)
        self.used = 0
        self.tail_start: IntArray = np.zeros(0, np.int64)
        self.tail_len: IntArray = np.zeros(0, np.int64)
        self.seen: IntArray = np.zeros(0, np.int64)  # values ever received (count windows)
        self.first: IntArray = np.zeros(0, np.int64)  # time of the first value (time windows)
        self.force_rank_search = False  # tests: exercise the overflow-safe search path

    def ensure(self, n: int) -> None:
        """Make room for instance ids below n."""
        self.tail_start = grow(self.tail_start, n, 0)
        self.tail_len = grow(self.tail_len, n, 0)
        self.seen = grow(self.seen, n, 0)
        self.first = grow(self.first, n, NO_TIME)

    def keep(self, idx: IntArray) -> None:
        """Keep only the instances `idx` (renumbered 0..len-1 in that order); the pool is
        compacted so the tails of the others are freed."""
        self.tail_start = self.tail_start[idx]
        self.tail_len = self.tail_len[idx]
        self.seen = self.seen[idx]
        self.first = self.first[idx]
        self._compact(extra=0)

    def apply(
        self, values: FloatArray, times: IntArray, groups: Groups
    ) -> tuple[FloatArray, IntArray, IntArray, BoolArray]:
        """Feed rows (grouped by instance, in arrival order) and return each row's window.

        Returns `(ext, lo, hi, valid)`: row r's window is `ext[lo[r]:hi[r]]` where `valid[r]`.
        """
        ids = groups.ids
        tl = self.tail_len[ids]
        seg_len = tl + groups.counts
        seg_start = exclusive_cumsum(seg_len)
        total = int(seg_start[-1] + seg_len[-1]) if seg_len.shape[0] else 0
        ext = np.empty(total + 1, np.float64)
        ext[total] = 0.0
        ext_t = np.empty(total, np.int64)
        gr = groups.group_of_row
        pos = (seg_start + tl)[gr] + groups.rank
        ext[pos] = values
        ext_t[pos] = times
        if int(tl.sum()):
            dst = ranges(seg_start, tl)
            src = ranges(self.tail_start[ids], tl)
            ext[dst] = self.pool_vals[src]
            ext_t[dst] = self.pool_times[src]
        hi = pos + 1
        seg_end = seg_start + seg_len
        if self.size is not None:
            n = self.size
            valid = (self.seen[ids][gr] + groups.rank + 1) >= n
            lo = np.maximum(hi - n, seg_start[gr])
            keep_from = np.maximum(seg_end - (n - 1), seg_start)
            self.seen[ids] += groups.counts
        else:
            assert self.span_ns is not None
            d = self.span_ns
            unset = self.first[ids] == NO_TIME
            self.first[ids[unset]] = ext_t[seg_start[unset]]
            valid = (times - d) >= self.first[ids][gr]
            lo = self._time_lo(ext_t, seg_start, seg_len, gr, times, d)
            keep_from = np.maximum(lo[groups.last_rows] - self.keep_before, seg_start)
        self._store(ids, ext, ext_t, keep_from, seg_end - keep_from)
        return ext, lo, hi, valid

    def _time_lo(
        self,
        ext_t: IntArray,
        seg_start: IntArray,
        seg_len: IntArray,
        gr: IntArray,
        times: IntArray,
        d: int,
    ) -> IntArray:
        """Per row, the first buffer position in its segment with time > t - d.

        A grouped searchsorted: (segment, time) is folded into one sortable int64 key. The fast
        key uses times relative to each segment's first time; if that could overflow (huge
        spans times many segments) times are replaced by their ranks first.
        """
        nseg = seg_start.shape[0]
        seg_of = np.repeat(np.arange(nseg, dtype=np.int64), seg_len)
        base = ext_t[seg_start]
        rel = ext_t - base[seg_of]
        k = int(rel.max()) + 2 if rel.shape[0] else 2
        if nseg * k < _KEY_LIMIT and not self.force_rank_search:
            keys = seg_of * k + rel + 1
            q = np.maximum(times - base[gr] - d, -1) + 1
            fast: IntArray = np.searchsorted(keys, gr * k + q, side="right").astype(np.int64)
            return fast
        uniq = np.unique(ext_t)
        k = uniq.shape[0] + 1
        keys = seg_of * k + np.searchsorted(uniq, ext_t) + 1
        q = np.searchsorted(uniq, times - d, side="right")
        ranked: IntArray = np.searchsorted(keys, gr * k + q, side="right").astype(np.int64)
        return ranked

    def _store(
        self, ids: IntArray, ext: FloatArray, ext_t: IntArray, start: IntArray, length: IntArray
    ) -> None:
        """Replace the tails of `ids` with `ext[start:start+length]`, appending to the pool."""
        self.tail_len[ids] = 0
        total = int(length.sum())
        if self.used + total > self.pool_vals.shape[0]:
            self._compact(extra=total)
        src = ranges(start, length)
        end = self.used + total
        self.pool_vals[self.used : end] = ext[src]
        self.pool_times[self.used : end] = ext_t[src]
        self.tail_start[ids] = self.used + exclusive_cumsum(length)
        self.tail_len[ids] = length
        self.used = end

    def _compact(self, extra: int) -> None:
        live = int(self.tail_len.sum())
        cap = max(2 * (live + extra), 1024)
        src = ranges(self.tail_start, self.tail_len)
        vals = np.zeros(cap, np.float64)
        tms = np.zeros(cap, np.int64)
        vals[:live] = self.pool_vals[src]
        tms[:live] = self.pool_times[src]
        self.tail_start = exclusive_cumsum(self.tail_len)
        self.pool_vals, self.pool_times, self.used = vals, tms, live

    def nbytes(self) -> int:
        arrays = (self.pool_vals, self.pool_times, self.tail_start, self.tail_len)
        return sum(a.nbytes for a in arrays) + self.seen.nbytes + self.first.nbytes

    def snapshot(self, n: int) -> msgspec.Raw:
        return encode_part(self._snap(n))

    def _snap(self, n: int) -> WindowSnap:
        lens = self.tail_len[:n]
        src = ranges(self.tail_start[:n], lens)
        return WindowSnap(
            lens=lens.astype("<i8").tobytes(),
            vals=self.pool_vals[src].astype("<f8").tobytes(),
            times=self.pool_times[src].astype("<i8").tobytes(),
            seen=self.seen[:n].astype("<i8").tobytes(),
            first=self.first[:n].astype("<i8").tobytes(),
        )

    def restore(self, data: msgspec.Raw, n: int) -> None:
        self._load(decode_part(data, WindowSnap), n)

    def _load(self, snap: WindowSnap, n: int) -> None:
        lens = array_from(snap.lens, "<i8", n)
        vals = array_from(snap.vals, "<f8")
        tms = array_from(snap.times, "<i8", vals.shape[0])
        if int(lens.sum()) != vals.shape[0] or (n and int(lens.min()) < 0):
            raise CodecError("snapshot window tails are inconsistent")
        self.ensure(n)
        self.tail_len[:n] = lens
        self.tail_start[:n] = exclusive_cumsum(lens)
        cap = max(2 * int(vals.shape[0]), 1024)
        self.pool_vals = np.zeros(cap, np.float64)
        self.pool_times = np.zeros(cap, np.int64)
        self.pool_vals[: vals.shape[0]] = vals
        self.pool_times[: tms.shape[0]] = tms
        self.used = int(vals.shape[0])
        self.seen[:n] = array_from(snap.seen, "<i8", n)
        self.first[:n] = array_from(snap.first, "<i8", n)


def window_vector(
    state: WindowState,
    values: FloatArray,
    times: IntArray,
    groups: Groups,
    rows: IntArray | None,
    n_rows: int,
) -> Vector:
    """Run `state` over the working rows `rows` (None: all) and align the result to all rows."""
    ext, lo, hi, valid = state.apply(values, times, groups)
    if rows is None:
        return Vector(ext, lo, hi, valid)
    full_lo = np.zeros(n_rows, np.int64)
    full_hi = np.zeros(n_rows, np.int64)
    full_valid = np.zeros(n_rows, np.bool_)
    full_lo[rows] = lo
    full_hi[rows] = hi
    full_valid[rows] = valid
    return Vector(ext, full_lo, full_hi, full_valid)


def window_column(
    state: WindowState, arg: Scalar, times: IntArray, inst: IntArray, groups: Groups
) -> Vector:
    """Run `state` over the working rows where `arg` has a value; the rest get no window."""
    m = int(times.shape[0])
    rows = arg.valid_rows()
    if rows is None:
        return window_vector(state, arg.values, times, groups, None, m)
    if rows.shape[0] == 0:
        zeros = np.zeros(m, np.int64)
        return Vector(np.zeros(1, np.float64), zeros, zeros, np.zeros(m, np.bool_))
    sub = groups_of(inst[rows])
    return window_vector(state, arg.values[rows], times[rows], sub, rows, m)
