"""Joining point batches into one, for recordings and replays.

A batch column has one type, so batches can only be joined when they share db and rp and give
every field they have in common the same type (`compatible`). `concat_batches` keeps the rows in
order (the first batch's rows first), shares series keys, and pads a field missing from some of
the batches with absent values.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from kapacitor.model.batch import Column, FieldType, PointBatch, SeriesKey

__all__ = ["Coalescer", "coalesce", "compatible", "concat_batches", "field_types"]

_DTYPES: dict[FieldType, Any] = {
    FieldType.FLOAT: np.float64,
    FieldType.INT: np.int64,
    FieldType.UINT: np.uint64,
    FieldType.BOOL: np.bool_,
    FieldType.STRING: object,
}


def field_types(batch: PointBatch) -> dict[str, FieldType]:
    return {name: col.type for name, col in batch.fields.items()}


def compatible(types: Mapping[str, FieldType], batch: PointBatch) -> bool:
    """Whether `batch` gives every field also in `types` the same type."""
    return all(types.get(name, col.type) is col.type for name, col in batch.fields.items())


def _filler(ftype: FieldType, n: int) -> npt.NDArray[Any]:
    if ftype is FieldType.STRING:
        return np.full(n, "", dtype=object)
    return np.zeros(n, dtype=_DTYPES[ftype])


def concat_batches(batches: Sequence[PointBatch]) -> PointBatch:
    """One batch holding the rows of all `batches`, in order.

    Raises ValueError when the batches differ in db or rp, or type one field differently.
    """
    if not batches:
        raise ValueError("concat_batches needs at least one batch")
    first = batches[0]
    if len(batches) == 1:
        return first
    types: dict[str, FieldType] = {}
    for b in batches:
        if b.db != first.db or b.rp != first.rp:
            raise ValueError(
                f"cannot join batches of {first.db!r}/{first.rp!r} and {b.db!r}/{b.rp!r}"
            )
        for name, col in b.fields.items():
            known = types.setdefault(name, col.type)
            if known is not col.type:
                raise ValueError(
                    f"field {name!r} is {known.name.lower()} in one batch "
                    f"and {col.type.name.lower()} in another"
                )
    index: dict[SeriesKey, int] = {}
    series: list[SeriesKey] = []
    sidx_parts: list[npt.NDArray[np.int32]] = []
    for b in batches:
        mapping = np.empty(len(b.series), dtype=np.int32)
        for i, s in enumerate(b.series):
            j = index.get(s)
            if j is None:
                j = index[s] = len(series)
                series.append(s)
            mapping[i] = j
        sidx_parts.append(mapping[b.series_idx] if len(b) else np.zeros(0, np.int32))
    fields: dict[str, Column] = {}
    for name, ftype in types.items():
        values: list[npt.NDArray[Any]] = []
        present: list[npt.NDArray[np.bool_]] = []
        for b in batches:
            n = len(b)
            part = b.fields.get(name)
            if part is None:
                values.append(_filler(ftype, n))
                present.append(np.zeros(n, dtype=np.bool_))
            else:
                values.append(np.asarray(part.values, dtype=_DTYPES[ftype]))
                present.append(part.present_mask(n))
        mask = np.concatenate(present)
        fields[name] = Column(ftype, np.concatenate(values), None if bool(mask.all()) else mask)
    return PointBatch(
        first.db,
        first.rp,
        series,
        np.concatenate(sidx_parts).astype(np.int32, copy=False),
        np.concatenate([b.time for b in batches]).astype(np.int64, copy=False),
        fields,
    )


class Coalescer:
    """Joins consecutive joinable batches until they hold at least `min_rows` rows.

    `add` returns the batches completed by the one added (zero, one or two); `flush` the rest.
    """

    def __init__(self, min_rows: int) -> None:
        self.min_rows = max(1, min_rows)
        self._pending: list[PointBatch] = []
        self._rows = 0
        self._types: dict[str, FieldType] = {}

    def _take(self) -> list[PointBatch]:
        if not self._pending:
            return []
        out = concat_batches(self._pending)
        self._pending, self._rows, self._types = [], 0, {}
        return [out]

    def add(self, batch: PointBatch) -> list[PointBatch]:
        if not len(batch):
            return []
        out: list[PointBatch] = []
        if self._pending:
            head = self._pending[0]
            if batch.db != head.db or batch.rp != head.rp or not compatible(self._types, batch):
                out = self._take()
        self._pending.append(batch)
        self._rows += len(batch)
        self._types.update(field_types(batch))
        if self._rows >= self.min_rows:
            out += self._take()
        return out

    def flush(self) -> list[PointBatch]:
        return self._take()


def coalesce(batches: Iterable[PointBatch], min_rows: int) -> Iterator[PointBatch]:
    """`batches` in order, consecutive joinable ones joined until they reach `min_rows` rows."""
    c = Coalescer(min_rows)
    for b in batches:
        yield from c.add(b)
    yield from c.flush()
