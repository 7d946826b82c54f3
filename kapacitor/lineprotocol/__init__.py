"""InfluxDB 1.x line protocol: body → PointBatch decoding, encoding back, body splitting."""

from kapacitor.lineprotocol.decode import PRECISIONS, parse_body
from kapacitor.lineprotocol.encode import Unsigned, encode_batch_lines, encode_point
from kapacitor.lineprotocol.split import split_body

__all__ = [
    "PRECISIONS",
    "Unsigned",
    "encode_batch_lines",
    "encode_point",
    "parse_body",
    "split_body",
]
