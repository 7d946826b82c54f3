"""Wire and in-memory types shared by every service."""

from kapacitor.model.batch import (
    Column,
    FieldType,
    PointBatch,
    SeriesKey,
    concat_batches,
    decode_batch,
    encode_batch,
    joinable_runs,
)
from kapacitor.model.limits import INT64_MAX, INT64_MIN, UINT64_MAX

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "UINT64_MAX",
    "Column",
    "FieldType",
    "PointBatch",
    "SeriesKey",
    "concat_batches",
    "decode_batch",
    "encode_batch",
    "joinable_runs",
]
