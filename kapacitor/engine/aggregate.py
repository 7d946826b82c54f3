"""Aggregates over windows, for many overlapping windows of one shared buffer at once.

A window is the range `ext[lo:hi]`. Sums, minima and maxima use `ufunc.reduceat` over the
interleaved index list `[lo0, hi0, lo1, hi1, ...]` (even results are the ranges), so overlapping
windows cost O(total window length) with no Python loop. Order statistics gather the windows
into one flat array; windows of equal length (count windows) become a 2-D array sorted along
axis 1, ragged ones are sorted with one lexsort on (row, value).

Definitions follow InfluxQL: `stddev` is the sample standard deviation (no value for fewer than
2 points); `median` of an even count is `lo + (hi - lo) / 2` of the two middle values;
`percentile(v, p)` is nearest-rank: the sorted value at `floor(n * p / 100 + 0.5) - 1`, no value
when that index falls outside the window (e.g. p=0); `spread` is max - min.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from kapacitor.engine.groups import BoolArray, FloatArray, IntArray, exclusive_cumsum, ranges

AggResult = tuple[FloatArray, BoolArray | None]


def _interleave(lo: IntArray, hi: IntArray) -> IntArray:
    idx = np.empty(2 * lo.shape[0], np.int64)
    idx[0::2] = lo
    idx[1::2] = hi
    return idx


def _reduce(ufunc: np.ufunc, ext: FloatArray, lo: IntArray, hi: IntArray) -> FloatArray:
    if lo.shape[0] == 0:
        return np.zeros(0, np.float64)
    out: FloatArray = ufunc.reduceat(ext, _interleave(lo, hi))[0::2]
    return out


def agg_sum(ext: FloatArray, lo: IntArray, hi: IntArray, p: float | None) -> AggResult:
    return _reduce(np.add, ext, lo, hi), None


def agg_avg(ext: FloatArray, lo: IntArray, hi: IntArray, p: float | None) -> AggResult:
    return _reduce(np.add, ext, lo, hi) / (hi - lo), None


def agg_count(ext: FloatArray, lo: IntArray, hi: IntArray, p: float | None) -> AggResult:
    return (hi - lo).astype(np.float64), None


def agg_min(ext: FloatArray, lo: IntArray, hi: IntArray, p: float | None) -> AggResult:
    return _reduce(np.minimum, ext, lo, hi), None


def agg_max(ext: FloatArray, lo: IntArray, hi: IntArray, p: float | None) -> AggResult:
    return _reduce(np.maximum, ext, lo, hi), None


def agg_first(ext: FloatArray, lo: IntArray, hi: IntArray, p: float | None) -> AggResult:
    return ext[lo], None


def agg_last(ext: FloatArray, lo: IntArray, hi: IntArray, p: float | None) -> AggResult:
    return ext[hi - 1], None


def agg_spread(ext: FloatArray, lo: IntArray, hi: IntArray, p: float | None) -> AggResult:
    return _reduce(np.maximum, ext, lo, hi) - _reduce(np.minimum, ext, lo, hi), None


def _sorted_windows(ext: FloatArray, lo: IntArray, hi: IntArray) -> tuple[FloatArray, IntArray]:
    """All windows' values, each window sorted ascending, and where each window starts."""
    lens = hi - lo
    vals = ext[ranges(lo, lens)]
    starts = exclusive_cumsum(lens)
    n = lo.shape[0]
    if n and int(lens.min()) == int(lens.max()):
        return np.sort(vals.reshape(n, int(lens[0])), axis=1).reshape(-1), starts
    row = np.repeat(np.arange(n, dtype=np.int64), lens)
    return vals[np.lexsort((vals, row))], starts


def agg_median(ext: FloatArray, lo: IntArray, hi: IntArray, p: float | None) -> AggResult:
    lens = hi - lo
    vals, starts = _sorted_windows(ext, lo, hi)
    mid = starts + lens // 2
    upper = vals[mid]
    lower = vals[np.where(lens % 2 == 0, mid - 1, mid)]
    return lower + (upper - lower) / 2, None


def agg_percentile(ext: FloatArray, lo: IntArray, hi: IntArray, p: float | None) -> AggResult:
    assert p is not None
    lens = hi - lo
    vals, starts = _sorted_windows(ext, lo, hi)
    rank = np.floor(lens * (p / 100.0) + 0.5).astype(np.int64) - 1
    ok = (rank >= 0) & (rank < lens)
    pick = starts + np.clip(rank, 0, np.maximum(lens - 1, 0))
    out = np.zeros(lo.shape[0], np.float64)
    out[ok] = vals[pick[ok]]
    return out, ok


def agg_stddev(ext: FloatArray, lo: IntArray, hi: IntArray, p: float | None) -> AggResult:
    lens = hi - lo
    n = lo.shape[0]
    if n == 0:
        return np.zeros(0, np.float64), None
    vals = ext[ranges(lo, lens)]
    mean = _reduce(np.add, ext, lo, hi) / lens
    dev = vals - np.repeat(mean, lens)
    ss = np.add.reduceat(dev * dev, exclusive_cumsum(lens))
    ok = lens >= 2
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.sqrt(ss / (lens - 1))
    return np.where(ok, out, 0.0), ok


def agg_mode(ext: FloatArray, lo: IntArray, hi: IntArray, p: float | None) -> AggResult:
    """The most frequent value; ties go to the smallest (runs of equal sorted values)."""
    n = lo.shape[0]
    if n == 0:
        return np.zeros(0, np.float64), None
    lens = hi - lo
    vals, _ = _sorted_windows(ext, lo, hi)
    row = np.repeat(np.arange(n, dtype=np.int64), lens)
    run_start = np.ones(vals.shape[0], np.bool_)
    run_start[1:] = (vals[1:] != vals[:-1]) | (row[1:] != row[:-1])
    first = np.flatnonzero(run_start).astype(np.int64)
    run_len = np.diff(np.append(first, vals.shape[0]))
    run_row = row[first]
    row_first_run = np.searchsorted(run_row, np.arange(n, dtype=np.int64))
    best = np.maximum.reduceat(run_len, row_first_run)
    # The first (smallest-valued) run of each row reaching its maximum length.
    cand = np.flatnonzero(run_len == best[run_row])
    pick = cand[np.searchsorted(run_row[cand], np.arange(n, dtype=np.int64))]
    return vals[first[pick]], None


AggFn = Callable[[FloatArray, IntArray, IntArray, float | None], AggResult]

AGGREGATE_FUNCTIONS: dict[str, AggFn] = {
    "avg": agg_avg,
    "sum": agg_sum,
    "count": agg_count,
    "min": agg_min,
    "max": agg_max,
    "first": agg_first,
    "last": agg_last,
    "median": agg_median,
    "spread": agg_spread,
    "stddev": agg_stddev,
    "percentile": agg_percentile,
    "mode": agg_mode,
}
