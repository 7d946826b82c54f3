"""Cutting a fetch's batches into runs that join, and joining them."""

from __future__ import annotations

import numpy as np

from kapacitor.model import concat_batches, joinable_runs
from kapacitor.model.batch import Column, FieldType, PointBatch, SeriesKey


def rows(n: int, db: str = "telegraf", ftype: FieldType = FieldType.FLOAT) -> PointBatch:
    values = np.arange(n, dtype=np.int64 if ftype is FieldType.INT else np.float64)
    return PointBatch(
        db,
        "autogen",
        [SeriesKey("cpu", (("host", "a"),))],
        np.zeros(n, dtype=np.int32),
        np.arange(n, dtype=np.int64),
        {"v": Column(ftype, values)},
    )


def test_runs_cut_at_the_row_cap_db_and_field_type() -> None:
    batches = [
        rows(5),
        rows(5),
        rows(5),  # 15 > 12: a new run
        rows(5, db="other"),
        rows(5, ftype=FieldType.INT),
        rows(30),  # alone above the cap: a run of its own
        rows(1),
    ]
    assert joinable_runs(batches, 12) == [(0, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7)]
    assert joinable_runs([], 12) == []
    assert joinable_runs(batches[:3], 100) == [(0, 3)]


def test_a_run_joins_in_order() -> None:
    joined = concat_batches([rows(3), rows(2)])
    assert joined.time.tolist() == [0, 1, 2, 0, 1]
    assert joined.fields["v"].values.tolist() == [0, 1, 2, 0, 1]
