"""Encoding points and PointBatches as InfluxDB 1.x line protocol.

The output is what `kapacitor.lineprotocol.parse_body` (and InfluxDB 1.x) reads back to
the same values: names escape ``,``, space and ``=`` (plus ``"`` in measurements and field keys),
strings escape ``"`` and ``\\``, integers end in ``i``, unsigned integers in ``u``, floats use
``repr`` so they round-trip exactly. Things line protocol cannot express (an empty name, a name
ending with a backslash or holding a newline, a measurement starting with ``#`` or a tab, NaN or
infinite floats, a point without fields) raise LineProtocolError with line 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from kapacitor.errors import LineProtocolError
from kapacitor.lineprotocol.precision import precision_multiplier
from kapacitor.lineprotocol.syntax import (
    FIELD_KEY_SPECIAL,
    MEASUREMENT_SPECIAL,
    STRING_SPECIAL,
    TAG_SPECIAL,
)
from kapacitor.model.batch import FieldType, PointBatch

__all__ = ["Unsigned", "encode_batch_lines", "encode_point"]


class Unsigned(int):
    """An int to be written as an unsigned (``u``) field value."""


def _escapes(special: str) -> dict[int, str]:
    return str.maketrans({c: "\\" + c for c in special})


_MEAS_ESC = _escapes(MEASUREMENT_SPECIAL)
_TAG_ESC = _escapes(TAG_SPECIAL)
_FIELD_KEY_ESC = _escapes(FIELD_KEY_SPECIAL)
_STRING_ESC = _escapes(STRING_SPECIAL)


def _fail(reason: str) -> LineProtocolError:
    return LineProtocolError(0, f"cannot encode: {reason}")


def _name(s: str, table: dict[int, str], what: str) -> str:
    if not s:
        raise _fail(f"empty {what}")
    if s.endswith("\\"):
        raise _fail(f"{what} {s!r} ends with a backslash")
    if "\n" in s:
        raise _fail(f"{what} {s!r} contains a newline")
    return s.translate(table)


def escape_measurement(name: str) -> str:
    if name[:1] in ("#", "\t"):
        raise _fail(f"measurement {name!r} starts with {name[0]!r}")
    return _name(name, _MEAS_ESC, "measurement")


def escape_tag(s: str, what: str = "tag") -> str:
    return _name(s, _TAG_ESC, what)


def escape_field_key(key: str) -> str:
    return _name(key, _FIELD_KEY_ESC, "field key")


def quote_string(s: str) -> str:
    return '"' + s.translate(_STRING_ESC) + '"'


def format_float(v: float, key: str = "") -> str:
    if not math.isfinite(v):
        raise _fail(f"float {v!r} of field {key!r} is not finite")
    return repr(float(v))


def format_value(v: Any, key: str = "") -> str:
    """One field value; bool, int (``i``), Unsigned/numpy unsigned (``u``), float, str."""
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    if isinstance(v, Unsigned | np.unsignedinteger):
        if int(v) < 0:
            raise _fail(f"negative unsigned value {int(v)} of field {key!r}")
        return f"{int(v)}u"
    if isinstance(v, int | np.integer):
        return f"{int(v)}i"
    if isinstance(v, float | np.floating):
        return format_float(float(v), key)
    if isinstance(v, str):
        return quote_string(v)
    raise _fail(f"unsupported value {v!r} of field {key!r}")


def _encode_key(measurement: str, tags: Iterable[tuple[str, str]]) -> str:
    parts = [escape_measurement(measurement)]
    for k, v in tags:
        parts.append(f"{escape_tag(k, 'tag key')}={escape_tag(v, 'tag value')}")
    return ",".join(parts)


def _encode_time(time_ns: int, mult: int) -> str:
    return str(time_ns // mult)


def _check(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise _fail(f"text is not valid Unicode: {e.reason}") from None


def encode_point(
    measurement: str,
    tags: Mapping[str, str] | Iterable[tuple[str, str]],
    fields: Mapping[str, Any],
    time_ns: int | None = None,
    precision: str = "ns",
) -> bytes:
    """One line (no trailing newline). Tags are sorted by key; time is floored to `precision`."""
    mult = precision_multiplier(precision)
    items = sorted(tags.items() if isinstance(tags, Mapping) else tags)
    if not fields:
        raise _fail(f"point of {measurement!r} has no fields")
    text = _encode_key(measurement, items) + " "
    text += ",".join(f"{escape_field_key(k)}={format_value(v, k)}" for k, v in fields.items())
    if time_ns is not None:
        text += " " + _encode_time(time_ns, mult)
    return _check(text)


def encode_batch_lines(batch: PointBatch, precision: str = "ns") -> bytes:
    """Every row of `batch` as one line, newline-terminated; time floored to `precision`."""
    mult = precision_multiplier(precision)
    keys = [_encode_key(s.measurement, s.tags) + " " for s in batch.series]
    cols: list[tuple[str, list[Any], list[bool] | None, FieldType]] = []
    for name, col in batch.fields.items():
        present = None if col.present is None else col.present.tolist()
        cols.append((escape_field_key(name) + "=", col.values.tolist(), present, col.type))
    out: list[str] = []
    times = batch.time.tolist()
    for r, si in enumerate(batch.series_idx.tolist()):
        parts: list[str] = []
        for prefix, values, present, ftype in cols:
            if present is not None and not present[r]:
                continue
            v = values[r]
            if ftype is FieldType.FLOAT:
                s = format_float(v, prefix[:-1])
            elif ftype is FieldType.INT:
                s = f"{v}i"
            elif ftype is FieldType.UINT:
                s = f"{v}u"
            elif ftype is FieldType.BOOL:
                s = "true" if v else "false"
            else:
                s = quote_string(str(v))
            parts.append(prefix + s)
        if not parts:
            raise _fail(f"row {r} has no fields")
        out.append(keys[si] + ",".join(parts) + " " + _encode_time(times[r], mult) + "\n")
    return _check("".join(out))
