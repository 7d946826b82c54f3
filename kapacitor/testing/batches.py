"""Point batches as plain rows, for tests that compare two ways of producing one batch."""

from __future__ import annotations

from typing import Any

import numpy as np

from kapacitor.errors import LineProtocolError
from kapacitor.model.batch import FieldType, PointBatch, SeriesKey

__all__ = ["Row", "assert_same_parse", "rows"]

Row = tuple[SeriesKey, int, dict[str, tuple[FieldType, Any]]]


def rows(batch: PointBatch) -> list[Row]:
    """Each row as (series, time, {field: (type, value)}), absent fields left out."""
    out = []
    for r in range(len(batch)):
        fields = {}
        for name, col in batch.fields.items():
            if col.present is None or col.present[r]:
                v = col.values[r]
                fields[name] = (col.type, v.item() if isinstance(v, np.generic) else v)
        out.append((batch.series[int(batch.series_idx[r])], int(batch.time[r]), fields))
    return out


def assert_same_parse(
    a: tuple[list[PointBatch], list[LineProtocolError]],
    b: tuple[list[PointBatch], list[LineProtocolError]],
) -> None:
    """Two parses of one body: the same rows in the same batches and the same errors on the
    same lines."""
    ba, ea = a
    bb, eb = b
    assert [(e.line, e.reason) for e in ea] == [(e.line, e.reason) for e in eb]
    assert [rows(x) for x in ba] == [rows(x) for x in bb]
