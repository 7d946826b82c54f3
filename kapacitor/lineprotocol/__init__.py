"""InfluxDB 1.x line protocol: body → PointBatch decoding, encoding back, body splitting.

decode.py is the entry point of decoding; it tries uniform.py (whole-body bulk path), then
fast.py (per-line pass), which hands unusual lines to scan.py (the exact scanner, built on
validate.py) and converts columns in bulk with columns.py. syntax.py and precision.py hold what
the grammar and the `precision` parameter fix, for the decoder and encode.py alike.
"""

from kapacitor.lineprotocol.decode import parse_body
from kapacitor.lineprotocol.encode import Unsigned, encode_batch_lines, encode_point
from kapacitor.lineprotocol.fast import TYPE_CONFLICT
from kapacitor.lineprotocol.precision import PRECISIONS, precision_multiplier
from kapacitor.lineprotocol.split import split_body

__all__ = [
    "PRECISIONS",
    "TYPE_CONFLICT",
    "Unsigned",
    "encode_batch_lines",
    "encode_point",
    "parse_body",
    "precision_multiplier",
    "split_body",
]
