"""PointBatch.take: the rows asked for, in that order, with only the series they use, in the
batch's order: checked against plain rows, with few series and with many more than rows."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kapacitor.model.batch import Column, FieldType, PointBatch, SeriesKey
from kapacitor.testing.batches import rows


@st.composite
def batches_and_rows(draw: st.DrawFn) -> tuple[PointBatch, list[int]]:
    n_series = draw(st.integers(1, 400))  # up to far more series than rows
    n = draw(st.integers(0, 60))
    sidx = draw(st.lists(st.integers(0, n_series - 1), min_size=n, max_size=n))
    series = [SeriesKey("cpu", (("host", f"h{k}"),)) for k in range(n_series)]
    values = np.arange(n, dtype=np.float64) / 4
    batch = PointBatch(
        "db",
        "rp",
        series,
        np.array(sidx, dtype=np.int32),
        np.arange(n, dtype=np.int64) * 10,
        {"v": Column(FieldType.FLOAT, values)},
    )
    idx = draw(st.lists(st.integers(0, n - 1), max_size=80)) if n else []
    return batch, idx


@settings(max_examples=300, deadline=None)
@given(batches_and_rows())
def test_take_keeps_the_rows_asked_for_and_only_the_series_they_use(
    case: tuple[PointBatch, list[int]],
) -> None:
    batch, idx = case
    taken = batch.take(np.array(idx, dtype=np.intp))
    all_rows = rows(batch)
    assert rows(taken) == [all_rows[i] for i in idx]
    used = sorted({int(batch.series_idx[i]) for i in idx})
    assert taken.series == [batch.series[k] for k in used]
    assert taken.series_idx.dtype == np.int32
