"""Index arithmetic over rows sorted by instance: group runs and ragged ranges.

Every vectorized operator works on rows that are stably sorted by instance id, so each
instance's rows form one contiguous run (a *group*) in arrival order. These helpers describe
those runs and gather variable-length ranges without a Python loop per instance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]

# A time slot that holds no time yet (never a point's: InfluxDB reserves the int64 minimum).
NO_TIME = np.iinfo(np.int64).min
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
_A = TypeVar("_A", bound=np.ndarray[Any, Any])


@dataclass(frozen=True, slots=True)
class Groups:
    """The runs of equal instance ids in a sorted id array.

    `ids[g]` is the instance of group g, its rows are `starts[g] : starts[g] + counts[g]`;
    `group_of_row[r]` is the group of row r and `rank[r]` its position inside that group.
    """

    ids: IntArray
    starts: IntArray
    counts: IntArray
    group_of_row: IntArray
    rank: IntArray

    @property
    def ends(self) -> IntArray:
        return self.starts + self.counts

    @property
    def last_rows(self) -> IntArray:
        return self.starts + self.counts - 1


def groups_of(inst: IntArray) -> Groups:
    """Group structure of `inst`, which must already be grouped (equal ids adjacent)."""
    m = int(inst.shape[0])
    if m == 0:
        empty = np.zeros(0, np.int64)
        return Groups(empty, empty, empty, empty, empty)
    boundary = np.empty(m, np.bool_)
    boundary[0] = True
    np.not_equal(inst[1:], inst[:-1], out=boundary[1:])
    starts = np.flatnonzero(boundary).astype(np.int64)
    counts = np.diff(np.append(starts, m))
    group_of_row = np.cumsum(boundary, dtype=np.int64) - 1
    rank = np.arange(m, dtype=np.int64) - starts[group_of_row]
    return Groups(inst[starts], starts, counts, group_of_row, rank)


def exclusive_cumsum(lengths: IntArray) -> IntArray:
    """Offsets at which consecutive pieces of the given lengths start."""
    out = np.zeros(lengths.shape[0], np.int64)
    if lengths.shape[0] > 1:
        np.cumsum(lengths[:-1], out=out[1:])
    return out


def ranges(starts: IntArray, lengths: IntArray) -> IntArray:
    """Concatenation of `arange(s, s + n)` for every (s, n) pair, without a Python loop."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    shift = np.repeat(starts - exclusive_cumsum(lengths), lengths)
    return np.arange(total, dtype=np.int64) + shift


def grow(arr: _A, size: int, fill: float | int | bool) -> _A:
    """`arr` if it already has `size` entries, else a copy padded with `fill` (amortized x2)."""
    if arr.shape[0] >= size:
        return arr
    out = np.full(max(size, 2 * arr.shape[0], 16), fill, dtype=arr.dtype)
    out[: arr.shape[0]] = arr
    return out  # type: ignore[return-value]
