"""The values operators pass to each other during one batch.

All columns are aligned with the batch's *working rows*: the accepted rows, stably sorted by
instance. A `Scalar` is one float64 per row (booleans are 1.0/0.0) with a validity mask saying
on which rows the value exists. A `Vector` is what a window yields: for every row a range
`ext[lo:hi]` of one shared float64 buffer, so overlapping windows share storage. A `Text` is
one str per row (strings are the only non-float64 column).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from kapacitor.engine.groups import BoolArray, FloatArray, IntArray

ObjectArray = npt.NDArray[np.object_]


@dataclass(slots=True)
class Scalar:
    """One value per working row; `valid` None means the value exists on every row."""

    values: FloatArray
    valid: BoolArray | None = None

    def valid_rows(self) -> IntArray | None:
        """Indices of the rows holding a value, or None for all rows."""
        if self.valid is None:
            return None
        return np.flatnonzero(self.valid).astype(np.int64)


@dataclass(slots=True)
class Vector:
    """Per working row the window `ext[lo[r]:hi[r]]`, defined where `valid[r]`.

    `ext` always has one spare element past the last range so `ufunc.reduceat` may be given
    `hi == len(ext) - 1` as an index.
    """

    ext: FloatArray
    lo: IntArray
    hi: IntArray
    valid: BoolArray


@dataclass(slots=True)
class Text:
    """One str per working row (an object array, "" where there is no value), with the same
    validity convention as `Scalar`. Numbers and truth values stay `Scalar`s (float64, truth
    values 1.0/0.0); only strings (string fields, `tag()`, string functions) are `Text`."""

    values: ObjectArray
    valid: BoolArray | None = None


Value = Scalar | Vector | Text


def and_valid(a: BoolArray | None, b: BoolArray | None) -> BoolArray | None:
    """Rows where both values exist."""
    if a is None:
        return b
    if b is None:
        return a
    return a & b
