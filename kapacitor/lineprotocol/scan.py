"""The exact character scanner: one point, every rule of the grammar, every error message.

The fast paths (fast.py, uniform.py) hand it every line they do not recognise, and split.py
uses it to keep the lines of a multi-line string value together.
"""

from __future__ import annotations

import re
from typing import Any, Final

from kapacitor.lineprotocol.syntax import (
    FIELD_KEY_SPECIAL,
    MAX_KEY_LENGTH,
    MEASUREMENT_SPECIAL,
    STRING,
    STRING_SPECIAL,
    TAG_SPECIAL,
)
from kapacitor.lineprotocol.validate import INT_RE, LineError, classify, show, utf8
from kapacitor.model.batch import SeriesKey

__all__ = ["Point", "scan_point"]

# A parsed point: series, field -> (type code, value or raw number token), raw timestamp.
Point = tuple[SeriesKey, dict[str, tuple[int, Any]], bytes | None]

_MEAS_STOP: Final = re.compile(rb"[\\, ]")
_TAG_STOP: Final = re.compile(rb"[\\,= ]")
_VALUE_STOP: Final = re.compile(rb"[, ]")
_STRING_STOP: Final = re.compile(rb'["\\]')
_MEAS_SPECIAL: Final = MEASUREMENT_SPECIAL.encode()
_TAG_SPECIAL: Final = TAG_SPECIAL.encode()
_FIELD_SPECIAL: Final = FIELD_KEY_SPECIAL.encode()
_STRING_SPECIAL: Final = STRING_SPECIAL.encode()


def _scan_name(
    buf: bytes, p: int, n: int, stop: re.Pattern[bytes], special: bytes
) -> tuple[bytes, int]:
    """Unescaped name from buf[p:], up to the first unescaped stop character (or n)."""
    pieces: list[bytes] = []
    while True:
        m = stop.search(buf, p, n)
        if m is None:
            pieces.append(buf[p:n])
            return b"".join(pieces), n
        q = m.start()
        if buf[q] != 92:
            pieces.append(buf[p:q])
            return b"".join(pieces), q
        if q + 1 < n and buf[q + 1] in special:
            pieces.append(buf[p:q])
            pieces.append(buf[q + 1 : q + 2])
            p = q + 2
        else:
            pieces.append(buf[p : q + 1])
            p = q + 1


def _line_end(buf: bytes) -> int:
    """Where the line's content ends: a ``\\r`` before the ``\\n`` is part of the terminator."""
    return len(buf) - 1 if buf.endswith(b"\r") else len(buf)


def scan_point(lines: list[bytes], i: int) -> tuple[int, Point | None]:
    """Parse the point starting at physical line `i` of `lines` (raw, `\\r` not stripped).

    Returns how many physical lines it used (more than one only for a quoted string holding
    newlines) and the point, or None for a blank or comment line. Raises LineError, in which
    case the point used exactly one line.
    """
    buf = lines[i]
    n = _line_end(buf)
    p = 0
    while p < n and buf[p] in b" \t":
        p += 1
    if p >= n or buf[p] == 35:  # '#'
        return 1, None
    if buf[p] == 44:
        raise LineError("missing measurement")
    key_start = p
    raw, p = _scan_name(buf, p, n, _MEAS_STOP, _MEAS_SPECIAL)
    name = utf8(raw, "measurement")
    tags: dict[str, str] = {}
    if p < n and buf[p] == 44:
        while True:
            p += 1
            raw, p = _scan_name(buf, p, n, _TAG_STOP, _TAG_SPECIAL)
            if not raw:
                raise LineError("missing tag key")
            tkey = utf8(raw, "tag key")
            if p >= n or buf[p] != 61:
                raise LineError(f"missing tag value for tag {tkey!r}")
            raw, p = _scan_name(buf, p + 1, n, _TAG_STOP, _TAG_SPECIAL)
            if not raw:
                raise LineError(f"missing tag value for tag {tkey!r}")
            if p < n and buf[p] == 61:
                raise LineError(f"invalid tag value for tag {tkey!r}: unescaped '='")
            if tkey in tags:
                raise LineError(f"duplicate tag key {tkey!r}")
            tags[tkey] = utf8(raw, "tag value")
            if p >= n or buf[p] == 32:
                break
    if p - key_start > MAX_KEY_LENGTH:
        raise LineError(f"max key length exceeded: {p - key_start} > {MAX_KEY_LENGTH}")
    while p < n and buf[p] == 32:
        p += 1
    if p >= n:
        raise LineError("missing fields")

    used = 1
    fields: dict[str, tuple[int, Any]] = {}
    while True:
        raw, p = _scan_name(buf, p, n, _TAG_STOP, _FIELD_SPECIAL)
        if not raw:
            raise LineError("missing field key")
        fkey = utf8(raw, "field key")
        if p >= n or buf[p] != 61:
            raise LineError(f"missing '=' after field key {fkey!r}")
        p += 1
        if p >= n or buf[p] in b", ":
            raise LineError(f"missing field value for {fkey!r}")
        if buf[p] == 34:  # '"'
            p += 1
            pieces: list[bytes] = []
            while True:
                m = _STRING_STOP.search(buf, p, n)
                if m is None:
                    if i + used >= len(lines):
                        raise LineError("unbalanced quotes")
                    # The line break (and a \r before it) belongs to the string.
                    pieces.append(buf[p:])
                    pieces.append(b"\n")
                    p = len(buf) + 1
                    buf = buf + b"\n" + lines[i + used]
                    n = _line_end(buf)
                    used += 1
                    continue
                q = m.start()
                pieces.append(buf[p:q])
                if buf[q] == 34:
                    p = q + 1
                    break
                if q + 1 < n and buf[q + 1] in _STRING_SPECIAL:
                    pieces.append(buf[q + 1 : q + 2])
                    p = q + 2
                else:
                    pieces.append(b"\\")
                    p = q + 1
            fields[fkey] = (STRING, utf8(b"".join(pieces), f"string value of field {fkey!r}"))
            if p < n and buf[p] not in b", ":
                raise LineError(
                    f"invalid string value for field {fkey!r}: unexpected "
                    f"{show(buf[p : p + 1])} after the closing quote"
                )
        else:
            m = _VALUE_STOP.search(buf, p, n)
            q = n if m is None else m.start()
            fields[fkey] = classify(buf[p:q], fkey)
            p = q
        if p >= n or buf[p] == 32:
            break
        p += 1  # the comma

    while p < n and buf[p] == 32:
        p += 1
    ts: bytes | None = None
    if p < n:
        q = buf.find(b" ", p, n)
        if q < 0:
            q = n
        ts = buf[p:q]
        if INT_RE.fullmatch(ts) is None:
            raise LineError(f"invalid timestamp {show(ts)}")
        rest = buf[q:n].strip(b" ")
        if rest:
            raise LineError(f"unexpected text after the timestamp: {show(rest)}")
    return used, (SeriesKey(name, tuple(sorted(tags.items()))), fields, ts)


def parse_key(key: str) -> SeriesKey:
    """The measurement and tags of a series key as line protocol writes it (`cpu,host=a\\ b`),
    unescaped; a key that does not read as one is a measurement of that name."""
    try:
        _, point = scan_point([key.encode() + b" _=0"], 0)
    except LineError:
        point = None
    return point[0] if point is not None else SeriesKey(key)
