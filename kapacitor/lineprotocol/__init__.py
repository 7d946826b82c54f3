"""InfluxDB 1.x line protocol: body → PointBatch decoding, encoding back, body splitting."""

from kapacitor.lineprotocol.decode import parse_body
from kapacitor.lineprotocol.encode import Unsigned, encode_batch_lines, encode_point
from kapacitor.lineprotocol.precision import PRECISIONS, precision_multiplier
from kapacitor.lineprotocol.split import split_body

__all__ = [
    "PRECISIONS",
    "Unsigned",
    "encode_batch_lines",
    "encode_point",
    "parse_body",
    "precision_multiplier",
    "split_body",
]
