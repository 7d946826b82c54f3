"""The exact validators of field values and timestamps, with the user-facing error reasons.

They take a raw token as it appears in the line (integers and unsigned integers with their
``i`` / ``u`` suffix) and raise LineError. The scanner uses them on every value; the bulk column
conversion (columns.py) accepts exactly the tokens they accept, and falls back to them to find
which lines to blame when it does not.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, Final

from kapacitor.lineprotocol.syntax import (
    BOOLEAN,
    BOOLS,
    FLOAT,
    INT64_MAX,
    INT64_MIN,
    INTEGER,
    MAX_TIME_NS,
    MIN_TIME_NS,
    UINT64_MAX,
    UNSIGNED,
)

__all__ = [
    "CHECKS",
    "INT_RE",
    "LineError",
    "check_float",
    "check_int",
    "check_time",
    "check_uint",
    "classify",
    "show",
    "utf8",
]

_FLOAT_RE: Final = re.compile(rb"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
INT_RE: Final = re.compile(rb"-?[0-9]+")
_UINT_RE: Final = re.compile(rb"[0-9]+")


class LineError(Exception):
    """One line is invalid; args[0] is the reason."""


def show(raw: bytes, limit: int = 64) -> str:
    """`raw` quoted for an error reason, cut at `limit` characters."""
    text = raw.decode("utf-8", "backslashreplace")
    if len(text) > limit:
        text = text[:limit] + "…"
    return f"'{text}'"


def utf8(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise LineError(f"invalid UTF-8 in {what} {show(raw)}") from None


def check_float(raw: bytes, key: str) -> float:
    if _FLOAT_RE.fullmatch(raw) is None:
        raise LineError(f"invalid float {show(raw)} for field {key!r}")
    value = float(raw)
    if math.isinf(value):
        raise LineError(f"float out of range {show(raw)} for field {key!r}")
    return value


def _integer(digits: bytes) -> int | None:
    """The value of decimal `digits` (an optional '-'), None when it has over 20 significant
    digits: beyond any 64-bit value, and Python's int() refuses over 4,300 of them."""
    sign = b"-" if digits.startswith(b"-") else b""
    significant = digits[len(sign) :].lstrip(b"0")
    if len(significant) > 20:
        return None
    return int(sign + (significant or b"0"))


def check_int(raw: bytes, key: str) -> int:
    digits = raw[:-1]
    if raw[-1:] != b"i" or INT_RE.fullmatch(digits) is None:
        raise LineError(f"invalid integer {show(raw)} for field {key!r}")
    value = _integer(digits)
    if value is None or not INT64_MIN <= value <= INT64_MAX:
        raise LineError(f"integer out of range {show(raw)} for field {key!r}")
    return value


def check_uint(raw: bytes, key: str) -> int:
    digits = raw[:-1]
    if raw[-1:] != b"u" or _UINT_RE.fullmatch(digits) is None:
        raise LineError(f"invalid unsigned integer {show(raw)} for field {key!r}")
    value = _integer(digits)
    if value is None or value > UINT64_MAX:
        raise LineError(f"unsigned integer out of range {show(raw)} for field {key!r}")
    return value


def check_time(raw: bytes, mult: int, precision: str) -> int:
    if INT_RE.fullmatch(raw) is None:
        raise LineError(f"invalid timestamp {show(raw)}")
    parsed = _integer(raw)
    value = None if parsed is None else parsed * mult
    if value is None or not MIN_TIME_NS <= value <= MAX_TIME_NS:
        unit = "" if mult == 1 else f" at precision {precision!r}"
        raise LineError(f"timestamp out of range {show(raw)}{unit}")
    return value


# The validator of each numeric type code (FLOAT, INTEGER, UNSIGNED).
CHECKS: Final[tuple[Callable[[bytes, str], float | int], ...]] = (
    check_float,
    check_int,
    check_uint,
)


def classify(tok: bytes, key: str) -> tuple[int, Any]:
    """Type code and column entry of an unquoted value: raw bytes for numbers, bool for booleans."""
    b = BOOLS.get(tok)
    if b is not None:
        return BOOLEAN, b
    last = tok[-1]
    first = tok[0]
    if last == 105 and first in b"-0123456789":  # 'i'
        check_int(tok, key)
        return INTEGER, tok
    if last == 117 and first in b"-0123456789":  # 'u'
        check_uint(tok, key)
        return UNSIGNED, tok
    if first in b"tfTF":
        raise LineError(f"invalid boolean {show(tok)} for field {key!r}")
    check_float(tok, key)
    return FLOAT, tok
