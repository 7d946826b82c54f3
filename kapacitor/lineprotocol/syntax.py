"""What the line protocol itself fixes, shared by the decoder and the encoder.

Which characters a backslash escapes in each kind of name, how booleans are spelled, the field
type codes and the limits InfluxDB 1.x puts on keys and timestamps.
"""

from __future__ import annotations

from typing import Final

from kapacitor.model.batch import FieldType

__all__ = [
    "BOOLEAN",
    "BOOLS",
    "FIELD_KEY_SPECIAL",
    "FLOAT",
    "INT64_MAX",
    "INT64_MIN",
    "INTEGER",
    "MAX_KEY_LENGTH",
    "MAX_TIME_NS",
    "MEASUREMENT_SPECIAL",
    "MIN_TIME_NS",
    "STRING",
    "STRING_SPECIAL",
    "TAG_SPECIAL",
    "TYPE_NAMES",
    "UINT64_MAX",
    "UNSIGNED",
]

# Characters a backslash escapes, per kind of name; a backslash before anything else is literal.
MEASUREMENT_SPECIAL: Final = ', ="'
TAG_SPECIAL: Final = ", ="  # tag keys and tag values
FIELD_KEY_SPECIAL: Final = MEASUREMENT_SPECIAL
STRING_SPECIAL: Final = '"\\'  # inside a quoted string field value

BOOLS: Final[dict[bytes, bool]] = {
    b"t": True,
    b"T": True,
    b"true": True,
    b"True": True,
    b"TRUE": True,
    b"f": False,
    b"F": False,
    b"false": False,
    b"False": False,
    b"FALSE": False,
}

# Field type codes: FieldType's values as plain ints, which compare faster than enum members on
# the hot path.
FLOAT: Final = FieldType.FLOAT.value
INTEGER: Final = FieldType.INT.value
UNSIGNED: Final = FieldType.UINT.value
BOOLEAN: Final = FieldType.BOOL.value
STRING: Final = FieldType.STRING.value
TYPE_NAMES: Final = ("float", "integer", "unsigned", "boolean", "string")  # by type code

# InfluxDB reserves the two extreme int64 values (models.MinNanoTime / MaxNanoTime).
MIN_TIME_NS: Final = -(2**63) + 2
MAX_TIME_NS: Final = 2**63 - 2
MAX_KEY_LENGTH: Final = 65535

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
UINT64_MAX: Final = 2**64 - 1
