"""Coalescing small point batches into larger ones, for recordings and replays.

Joining itself (`concat_batches`, `compatible`, `field_types`) lives with `PointBatch` in
kapacitor.model.batch, as the matcher and the interpreter join batches too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from kapacitor.model.batch import FieldType, PointBatch, compatible, concat_batches, field_types

__all__ = ["Coalescer", "coalesce"]


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
