"""Bulk conversion of a column's raw tokens into one numpy array, and of columns into a batch.

The fast paths collect numbers as raw tokens and convert a whole column at once: a byte-set
test plus one `int()` / `float()` per token is much cheaper than a regex per value. Together with
the checks here, that accepts exactly what the exact validators (validate.py) accept; any
disagreement returns None and the caller falls back to the validators to blame lines.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt

from kapacitor.lineprotocol.syntax import (
    BOOLEAN,
    FLOAT,
    INTEGER,
    MAX_TIME_NS,
    MIN_TIME_NS,
    STRING,
    UNSIGNED,
)
from kapacitor.model.batch import Column, FieldType

__all__ = ["Col", "bulk_times", "bulk_values", "to_column"]

# Bytes a valid value of each kind may contain (the space joins the tokens); together with
# float()/int() accepting the token and the checks below this is exactly validate.py's regexes.
_FLOAT_CHARS: Final = b"0123456789.eE+- "
_INT_CHARS: Final = b"0123456789-i "
_UINT_CHARS: Final = b"0123456789u "
_TIME_CHARS: Final = b"0123456789- "

_NP_DTYPES: Final = (np.float64, np.int64, np.uint64, np.bool_, object)  # by type code


class Col:
    """One field's column while a body is read: its type code, rows and raw values."""

    __slots__ = ("rows", "type", "vals")

    def __init__(self, ftype: int) -> None:
        self.type = ftype
        self.rows: list[int] = []
        self.vals: list[Any] = []


def _bulk_ints(raws: list[bytes], allowed: bytes, suffix: bytes) -> npt.NDArray[Any] | None:
    """int64 array of `raws` (each ending in `suffix`), or None if any is not a valid int64."""
    joined = b" ".join(raws)
    if joined.translate(None, allowed):
        return None
    if suffix:
        if joined.count(suffix) != len(raws):
            return None
        joined = joined.replace(suffix, b"")
    try:
        ints = list(map(int, joined.split(b" "))) if raws else []
        return np.array(ints, dtype=np.uint64 if suffix == b"u" else np.int64)
    except (ValueError, OverflowError):
        return None


def bulk_times(raws: list[bytes], mult: int) -> npt.NDArray[Any] | None:
    """Nanosecond int64 array of timestamps in `mult` units, or None if any is invalid."""
    times = _bulk_ints(raws, _TIME_CHARS, b"")
    if times is None:
        return None
    if raws:
        lo = -(-MIN_TIME_NS // mult)
        hi = MAX_TIME_NS // mult
        if times.min() < lo or times.max() > hi:
            return None
    if mult != 1:
        times = times * mult
    return times


def bulk_values(col: Col) -> npt.NDArray[Any] | None:
    """The column's values as one array, or None if any raw number is not valid."""
    t = col.type
    vals = col.vals
    if t == FLOAT:
        joined = b" ".join(vals)
        if joined.translate(None, _FLOAT_CHARS) or joined.startswith(b"+") or b" +" in joined:
            return None
        try:
            arr = np.fromiter(map(float, vals), dtype=np.float64, count=len(vals))
        except ValueError:
            return None
        return arr if bool(np.isfinite(arr).all()) else None
    if t == INTEGER:
        return _bulk_ints(vals, _INT_CHARS, b"i")
    if t == UNSIGNED:
        return _bulk_ints(vals, _UINT_CHARS, b"u")
    if t == BOOLEAN:
        return np.array(vals, dtype=np.bool_)
    arr = np.empty(len(vals), dtype=object)
    arr[:] = vals
    return arr


def to_column(col: Col, values: npt.NDArray[Any], n: int) -> Column:
    """The batch column of `col` (converted `values`) in a batch of `n` rows."""
    ftype = FieldType(col.type)
    rows = np.array(col.rows, dtype=np.intp)
    if len(rows) > 1 and not bool((rows[1:] > rows[:-1]).all()):
        # The fast path appends every duplicate field of a line; the last one wins.
        keep = np.append(rows[1:] != rows[:-1], True)
        rows = rows[keep]
        values = values[keep]
    if len(rows) == n:
        return Column(ftype, values)
    full: npt.NDArray[Any]
    if col.type == STRING:
        full = np.full(n, "", dtype=object)
    else:
        full = np.zeros(n, dtype=_NP_DTYPES[col.type])
    full[rows] = values
    present = np.zeros(n, dtype=np.bool_)
    present[rows] = True
    return Column(ftype, full, present)
