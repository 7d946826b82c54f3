"""Wire and in-memory types shared by every service."""

from kapacitor.model.batch import (
    Column,
    FieldType,
    PointBatch,
    SeriesKey,
    decode_batch,
    encode_batch,
)

__all__ = ["Column", "FieldType", "PointBatch", "SeriesKey", "decode_batch", "encode_batch"]
