"""Decoding an InfluxDB 1.x line-protocol body into one columnar PointBatch.

`parse_body` is the write hot path. Grammar, as InfluxDB 1.x accepts it:

    measurement[,tag=value...] field=value[,field=value...] [timestamp]

* Leading spaces and tabs are skipped; blank lines and lines starting with ``#`` are ignored;
  a ``\\r`` before the ``\\n`` is part of the line terminator.
* Sections are separated by one or more spaces; trailing spaces are allowed.
* Escapes in names (measurement, tag keys and values, field keys): a backslash followed by a
  special character stands for that character; every other backslash is literal (so ``\\\\``
  stays two backslashes, exactly as InfluxDB 1.x stores it). Special characters are ``, space =``
  for tags, plus ``"`` for measurements and field keys. A name cannot end with a backslash.
* String field values are double-quoted; inside them ``\\"`` is a quote and ``\\\\`` a backslash,
  any other backslash is literal. A quoted string may span lines (InfluxDB allows raw newlines
  in it); if such a point fails to parse, only its first line is reported and parsing resumes at
  the next physical line, so one stray quote never swallows the rest of the body.
* Values: ``1``, ``-1.5e3``, ``.5`` (float64, NaN/Inf and out-of-range rejected), ``12i``
  (int64), ``12u`` (uint64), ``t T true True TRUE f F false False FALSE``, ``"string"``.
* Duplicate tag keys are an error (as in InfluxDB); duplicate field keys: the last one wins, but
  every value must be valid.
* The timestamp is an integer in `precision` units; missing, it is `now_ns` truncated to the
  precision (as InfluxDB does).
* A field name keeps one type for the whole body (a batch column has one type): a later line
  using another type is rejected with a "field type conflict" error.

Speed: lines without ``"`` or ``\\`` go through a fast path built from ``bytes.split`` and dict
caches that defers all number parsing and validation to one bulk step per column at the end.
Anything the fast path does not recognise goes to an exact character scanner, which also writes
every error message; a bulk validation failure re-runs the body with the offending lines forced
onto the scanner, so both paths always agree.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from kapacitor.errors import LineProtocolError
from kapacitor.model.batch import Column, FieldType, PointBatch, SeriesKey

PRECISIONS: Final[dict[str, int]] = {
    "ns": 1,
    "n": 1,
    "u": 1_000,
    "us": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}

# InfluxDB reserves the two extreme int64 values (models.MinNanoTime / MaxNanoTime).
MIN_TIME_NS: Final = -(2**63) + 2
MAX_TIME_NS: Final = 2**63 - 2
MAX_KEY_LENGTH: Final = 65535

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_UINT64_MAX: Final = 2**64 - 1

# Internal field type codes; plain ints compare faster than enum members on the hot path.
_F: Final = 0
_I: Final = 1
_U: Final = 2
_B: Final = 3
_S: Final = 4
_TYPE_NAMES: Final = ("float", "integer", "unsigned", "boolean", "string")
_NP_DTYPES: Final = (np.float64, np.int64, np.uint64, np.bool_, object)

_BOOLS: Final[dict[bytes, bool]] = {
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

_FLOAT_RE: Final = re.compile(rb"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INT_RE: Final = re.compile(rb"-?[0-9]+")
_UINT_RE: Final = re.compile(rb"[0-9]+")

# Bytes a valid value of each kind may contain; together with float()/int() accepting the
# token and the checks in _materialize this is exactly the regexes above.
_FLOAT_CHARS: Final = b"0123456789.eE+- "
_INT_CHARS: Final = b"0123456789-i "
_UINT_CHARS: Final = b"0123456789u "
_TIME_CHARS: Final = b"0123456789- "

_MEAS_STOP: Final = re.compile(rb"[\\, ]")
_TAG_STOP: Final = re.compile(rb"[\\,= ]")
_VALUE_STOP: Final = re.compile(rb"[, ]")
_STRING_STOP: Final = re.compile(rb'["\\]')
_MEAS_SPECIAL: Final = b', ="'
_TAG_SPECIAL: Final = b", ="
_FIELD_SPECIAL: Final = b', ="'


class _LineError(Exception):
    """One line is invalid; args[0] is the reason."""


class _Bail(Exception):
    """The fast path cannot handle this line; the scanner will."""


def _show(raw: bytes, limit: int = 64) -> str:
    text = raw.decode("utf-8", "backslashreplace")
    if len(text) > limit:
        text = text[:limit] + "…"
    return f"'{text}'"


def _utf8(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _LineError(f"invalid UTF-8 in {what} {_show(raw)}") from None


# Exact validators. They accept the raw token as it appears in the line (int/uint with their
# suffix) and raise _LineError with the user-facing reason.


def check_float(raw: bytes, key: str) -> float:
    if _FLOAT_RE.fullmatch(raw) is None:
        raise _LineError(f"invalid float {_show(raw)} for field {key!r}")
    value = float(raw)
    if math.isinf(value):
        raise _LineError(f"float out of range {_show(raw)} for field {key!r}")
    return value


def check_int(raw: bytes, key: str) -> int:
    digits = raw[:-1]
    if raw[-1:] != b"i" or _INT_RE.fullmatch(digits) is None:
        raise _LineError(f"invalid integer {_show(raw)} for field {key!r}")
    value = int(digits)
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise _LineError(f"integer out of range {_show(raw)} for field {key!r}")
    return value


def check_uint(raw: bytes, key: str) -> int:
    digits = raw[:-1]
    if raw[-1:] != b"u" or _UINT_RE.fullmatch(digits) is None:
        raise _LineError(f"invalid unsigned integer {_show(raw)} for field {key!r}")
    value = int(digits)
    if value > _UINT64_MAX:
        raise _LineError(f"unsigned integer out of range {_show(raw)} for field {key!r}")
    return value


def check_time(raw: bytes, mult: int, precision: str) -> int:
    if _INT_RE.fullmatch(raw) is None:
        raise _LineError(f"invalid timestamp {_show(raw)}")
    value = int(raw) * mult
    if not MIN_TIME_NS <= value <= MAX_TIME_NS:
        unit = "" if mult == 1 else f" at precision {precision!r}"
        raise _LineError(f"timestamp out of range {_show(raw)}{unit}")
    return value


_CHECKS: Final = (check_float, check_int, check_uint)


def _classify(tok: bytes, key: str) -> tuple[int, Any]:
    """Type and column entry of an unquoted value: raw bytes for numbers, bool for booleans."""
    b = _BOOLS.get(tok)
    if b is not None:
        return _B, b
    last = tok[-1]
    first = tok[0]
    if last == 105 and first in b"-0123456789":  # 'i'
        check_int(tok, key)
        return _I, tok
    if last == 117 and first in b"-0123456789":  # 'u'
        check_uint(tok, key)
        return _U, tok
    if first in b"tfTF":
        raise _LineError(f"invalid boolean {_show(tok)} for field {key!r}")
    check_float(tok, key)
    return _F, tok


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


_Point = tuple[SeriesKey, dict[str, tuple[int, Any]], bytes | None]


def _line_end(buf: bytes) -> int:
    return len(buf) - 1 if buf.endswith(b"\r") else len(buf)


def scan_point(lines: list[bytes], i: int) -> tuple[int, _Point | None]:
    """Parse the point starting at physical line `i` of `lines` (raw, `\\r` not stripped).

    Returns how many physical lines it used (more than one only for a quoted string holding
    newlines) and the point, or None for a blank or comment line. Raises _LineError, in which
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
        raise _LineError("missing measurement")
    key_start = p
    raw, p = _scan_name(buf, p, n, _MEAS_STOP, _MEAS_SPECIAL)
    name = _utf8(raw, "measurement")
    tags: dict[str, str] = {}
    if p < n and buf[p] == 44:
        while True:
            p += 1
            raw, p = _scan_name(buf, p, n, _TAG_STOP, _TAG_SPECIAL)
            if not raw:
                raise _LineError("missing tag key")
            tkey = _utf8(raw, "tag key")
            if p >= n or buf[p] != 61:
                raise _LineError(f"missing tag value for tag {tkey!r}")
            raw, p = _scan_name(buf, p + 1, n, _TAG_STOP, _TAG_SPECIAL)
            if not raw:
                raise _LineError(f"missing tag value for tag {tkey!r}")
            if p < n and buf[p] == 61:
                raise _LineError(f"invalid tag value for tag {tkey!r}: unescaped '='")
            if tkey in tags:
                raise _LineError(f"duplicate tag key {tkey!r}")
            tags[tkey] = _utf8(raw, "tag value")
            if p >= n or buf[p] == 32:
                break
    if p - key_start > MAX_KEY_LENGTH:
        raise _LineError(f"max key length exceeded: {p - key_start} > {MAX_KEY_LENGTH}")
    while p < n and buf[p] == 32:
        p += 1
    if p >= n:
        raise _LineError("missing fields")

    used = 1
    fields: dict[str, tuple[int, Any]] = {}
    while True:
        raw, p = _scan_name(buf, p, n, _TAG_STOP, _FIELD_SPECIAL)
        if not raw:
            raise _LineError("missing field key")
        fkey = _utf8(raw, "field key")
        if p >= n or buf[p] != 61:
            raise _LineError(f"missing '=' after field key {fkey!r}")
        p += 1
        if p >= n or buf[p] in b", ":
            raise _LineError(f"missing field value for {fkey!r}")
        if buf[p] == 34:  # '"'
            p += 1
            pieces: list[bytes] = []
            while True:
                m = _STRING_STOP.search(buf, p, n)
                if m is None:
                    if i + used >= len(lines):
                        raise _LineError("unbalanced quotes")
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
                if q + 1 < n and buf[q + 1] in b'"\\':
                    pieces.append(buf[q + 1 : q + 2])
                    p = q + 2
                else:
                    pieces.append(b"\\")
                    p = q + 1
            fields[fkey] = (_S, _utf8(b"".join(pieces), f"string value of field {fkey!r}"))
            if p < n and buf[p] not in b", ":
                raise _LineError(
                    f"invalid string value for field {fkey!r}: unexpected "
                    f"{_show(buf[p : p + 1])} after the closing quote"
                )
        else:
            m = _VALUE_STOP.search(buf, p, n)
            q = n if m is None else m.start()
            fields[fkey] = _classify(buf[p:q], fkey)
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
        if _INT_RE.fullmatch(ts) is None:
            raise _LineError(f"invalid timestamp {_show(ts)}")
        rest = buf[q:n].strip(b" ")
        if rest:
            raise _LineError(f"unexpected text after the timestamp: {_show(rest)}")
    return used, (SeriesKey(name, tuple(sorted(tags.items()))), fields, ts)


def _parse_series(raw: bytes) -> SeriesKey:
    """Series of an escape-free key (fast path); raises _Bail if anything is unusual."""
    if len(raw) > MAX_KEY_LENGTH:
        raise _Bail
    parts = raw.split(b",")
    name = parts[0]
    if not name or name[0] in b" \t#":
        raise _Bail
    if len(parts) == 1:
        return SeriesKey(name.decode())
    tags: dict[str, str] = {}
    for part in parts[1:]:
        k, v = part.split(b"=")
        if not k or not v:
            raise _Bail
        tags[k.decode()] = v.decode()
    if len(tags) != len(parts) - 1:
        raise _Bail
    return SeriesKey(name.decode(), tuple(sorted(tags.items())))


class _Col:
    __slots__ = ("rows", "type", "vals")

    def __init__(self, ftype: int) -> None:
        self.type = ftype
        self.rows: list[int] = []
        self.vals: list[Any] = []


class _Pass:
    """One pass over the body; `force` holds line indexes that must use the scanner."""

    def __init__(self, now_raw: bytes, mult: int, precision: str, force: frozenset[int]) -> None:
        self.now_raw = now_raw
        self.mult = mult
        self.precision = precision
        self.force = force
        self.cols: dict[str, _Col] = {}
        self.series: list[SeriesKey] = []
        self.series_index: dict[SeriesKey, int] = {}
        self.sidx: list[int] = []
        self.times: list[bytes] = []
        self.row_line: list[int] = []
        self.errors: list[tuple[int, str, bytes]] = []
        self.maybe_unused_series = False

    def series_id(self, sk: SeriesKey) -> int:
        si = self.series_index.get(sk)
        if si is None:
            si = self.series_index[sk] = len(self.series)
            self.series.append(sk)
        return si

    def run(self, lines: list[bytes], raw_lines: list[bytes], fast: bool) -> None:
        force = self.force
        now_raw = self.now_raw
        fcache: dict[bytes, _Col] = {}
        scache: dict[bytes, int] = {}
        sidx = self.sidx
        times = self.times
        row_line = self.row_line
        bools = _BOOLS
        row = 0
        skip = 0
        for i, line in enumerate(lines):
            if i < skip:
                continue
            if not line or line[0] == 35:
                continue
            if fast and not (force and i in force) and 34 not in line and 92 not in line:
                try:
                    parts = line.split(b" ")
                    if len(parts) == 3:
                        key, fs, ts = parts
                        if not ts:
                            raise _Bail
                    elif len(parts) == 2:
                        key, fs = parts
                        ts = now_raw
                    else:
                        raise _Bail
                    si = scache.get(key)
                    if si is None:
                        si = scache[key] = self.series_id(_parse_series(key))
                        self.maybe_unused_series = True
                    for kv in fs.split(b","):
                        k, v = kv.split(b"=")
                        x: Any = v
                        c = v[-1]
                        if c <= 57:  # digits, '.', '-' ... bulk validation sorts them out
                            t = 0
                        elif c == 105:
                            t = 1
                        elif c == 117:
                            t = 2
                        else:
                            x = bools[v]
                            t = 3
                        col = fcache.get(k)
                        if col is None:
                            col = self._fast_col(fcache, k, t)
                        elif col.type != t:
                            raise _Bail
                        col.rows.append(row)
                        col.vals.append(x)
                except (_Bail, ValueError, KeyError, IndexError, UnicodeDecodeError):
                    self._rollback(fcache, row)
                else:
                    times.append(ts)
                    sidx.append(si)
                    row_line.append(i)
                    row += 1
                    continue
            try:
                used, point = scan_point(raw_lines, i)
                skip = i + used
                if point is not None:
                    self._commit(point, row, i)
                    row += 1
            except _LineError as e:
                self.errors.append((i, str(e.args[0]), line))

    def _fast_col(self, fcache: dict[bytes, _Col], k: bytes, t: int) -> _Col:
        if not k:
            raise _Bail
        name = k.decode()
        col = self.cols.get(name)
        if col is None:
            col = self.cols[name] = _Col(t)
        elif col.type != t:
            raise _Bail
        fcache[k] = col
        return col

    def _rollback(self, fcache: dict[bytes, _Col], row: int) -> None:
        for name, col in list(self.cols.items()):
            while col.rows and col.rows[-1] == row:
                col.rows.pop()
                col.vals.pop()
            if not col.rows:
                del self.cols[name]
                for k in [k for k, c in fcache.items() if c is col]:
                    del fcache[k]

    def _commit(self, point: _Point, row: int, i: int) -> None:
        sk, fields, ts = point
        if ts is not None:
            check_time(ts, self.mult, self.precision)
        cols = self.cols
        for key, (t, _) in fields.items():
            col = cols.get(key)
            if col is not None and col.type != t:
                raise _LineError(
                    f"field type conflict: {key!r} is {_TYPE_NAMES[col.type]} earlier in "
                    f"this request, got {_TYPE_NAMES[t]}"
                )
        for key, (t, v) in fields.items():
            col = cols.get(key)
            if col is None:
                col = cols[key] = _Col(t)
            col.rows.append(row)
            col.vals.append(v)
        self.times.append(self.now_raw if ts is None else ts)
        self.sidx.append(self.series_id(sk))
        self.row_line.append(i)

    def materialize(self, db: str, rp: str) -> tuple[PointBatch | None, set[int]]:
        """The batch, or the line indexes whose values failed bulk validation."""
        bad_rows: set[int] = set()
        n = len(self.times)
        times = _bulk_ints(self.times, _TIME_CHARS, b"")
        if times is not None:
            lo = -(-MIN_TIME_NS // self.mult)
            hi = MAX_TIME_NS // self.mult
            if n and (times.min() < lo or times.max() > hi):
                times = None
        if times is None:
            for r, raw in enumerate(self.times):
                try:
                    check_time(raw, self.mult, self.precision)
                except _LineError:
                    bad_rows.add(r)
        columns: dict[str, Column] = {}
        for name, col in self.cols.items():
            values = _bulk_values(col)
            if values is None:
                check = _CHECKS[col.type]
                for r, raw in zip(col.rows, col.vals, strict=True):
                    try:
                        check(raw, name)
                    except _LineError:
                        bad_rows.add(r)
                continue
            if not bad_rows:
                columns[name] = _to_column(col, values, n)
        if bad_rows:
            return None, {self.row_line[r] for r in bad_rows}
        assert times is not None
        if self.mult != 1:
            times = times * self.mult
        sidx = np.array(self.sidx, dtype=np.int32)
        series = self.series
        if self.maybe_unused_series and series:
            used = np.zeros(len(series), dtype=np.bool_)
            used[sidx] = True
            if not used.all():
                remap = np.cumsum(used, dtype=np.int32) - 1
                sidx = remap[sidx]
                series = [s for s, u in zip(series, used.tolist(), strict=True) if u]
        return PointBatch(db, rp, series, sidx, times, columns), set()


def _bulk_ints(raws: list[bytes], allowed: bytes, suffix: bytes) -> npt.NDArray[Any] | None:
    """int64 array of `raws` (each ending in `suffix`), or None if any is not a valid int64."""
    joined = b" ".join(raws)
    if joined.translate(None, allowed):
        return None
    if suffix:
        if joined.count(suffix) != len(raws):
            return None
        joined = joined.replace(suffix, b"")
    try:
        ints = list(map(int, joined.split(b" "))) if raws else []
        return np.array(ints, dtype=np.uint64 if suffix == b"u" else np.int64)
    except (ValueError, OverflowError):
        return None


def _bulk_values(col: _Col) -> npt.NDArray[Any] | None:
    t = col.type
    vals = col.vals
    if t == _F:
        joined = b" ".join(vals)
        if joined.translate(None, _FLOAT_CHARS) or joined.startswith(b"+") or b" +" in joined:
            return None
        try:
            arr = np.fromiter(map(float, vals), dtype=np.float64, count=len(vals))
        except ValueError:
            return None
        return arr if bool(np.isfinite(arr).all()) else None
    if t == _I:
        return _bulk_ints(vals, _INT_CHARS, b"i")
    if t == _U:
        return _bulk_ints(vals, _UINT_CHARS, b"u")
    if t == _B:
        return np.array(vals, dtype=np.bool_)
    arr = np.empty(len(vals), dtype=object)
    arr[:] = vals
    return arr


def _to_column(col: _Col, values: npt.NDArray[Any], n: int) -> Column:
    ftype = FieldType(col.type)
    rows = np.array(col.rows, dtype=np.intp)
    if len(rows) > 1 and not bool((rows[1:] > rows[:-1]).all()):
        # The fast path appends every duplicate field of a line; the last one wins.
        keep = np.append(rows[1:] != rows[:-1], True)
        rows = rows[keep]
        values = values[keep]
    if len(rows) == n:
        return Column(ftype, values)
    full: npt.NDArray[Any]
    if col.type == _S:
        full = np.full(n, "", dtype=object)
    else:
        full = np.zeros(n, dtype=_NP_DTYPES[col.type])
    full[rows] = values
    present = np.zeros(n, dtype=np.bool_)
    present[rows] = True
    return Column(ftype, full, present)


def _split_lines(body: bytes) -> tuple[list[bytes], list[bytes]]:
    """Physical lines for the fast path (\\r stripped) and for the scanner (raw)."""
    raw_lines = body.split(b"\n")
    if b"\r" not in body:
        return raw_lines, raw_lines
    return [ln[:-1] if ln.endswith(b"\r") else ln for ln in raw_lines], raw_lines


def precision_multiplier(precision: str) -> int:
    mult = PRECISIONS.get(precision)
    if mult is None:
        raise LineProtocolError(
            0, f"invalid precision {precision!r}: use one of {', '.join(PRECISIONS)}"
        )
    return mult


def _parse(
    body: bytes,
    *,
    db: str,
    rp: str,
    precision: str,
    now_ns: int,
    first_line: int,
    fast: bool,
) -> tuple[PointBatch, list[LineProtocolError]]:
    mult = precision_multiplier(precision)
    if fast:
        from kapacitor.lineprotocol.uniform import parse_uniform

        uniform = parse_uniform(body, db=db, rp=rp, mult=mult)
        if uniform is not None:
            return uniform, []
    now_raw = str(now_ns // mult).encode()
    lines, raw_lines = _split_lines(body)
    force: frozenset[int] = frozenset()
    while True:
        run = _Pass(now_raw, mult, precision, force)
        run.run(lines, raw_lines, fast)
        batch, bad_lines = run.materialize(db, rp)
        if batch is not None:
            errors = [
                LineProtocolError(first_line + i, reason, text.decode("utf-8", "replace"))
                for i, reason, text in run.errors
            ]
            return batch, errors
        if bad_lines <= force:
            # The scanner validates exactly what bulk validation accepts, so a line it let
            # through cannot fail again; refuse to loop if that ever stops being true.
            first = min(bad_lines)
            raise LineProtocolError(first_line + first, "internal error: value rejected twice")
        # Each round moves at least one more line to the scanner, so this ends.
        force = force | bad_lines


def parse_body(
    body: bytes,
    *,
    db: str,
    rp: str,
    precision: str = "ns",
    now_ns: int,
    first_line: int = 1,
) -> tuple[PointBatch, list[LineProtocolError]]:
    """Parse a line-protocol body into one batch (good lines, in order) and one error per bad line.

    Line numbers in errors are 1-based physical line numbers counted from `first_line`. An
    unknown `precision` raises LineProtocolError with line 0; nothing else raises.
    """
    return _parse(
        body, db=db, rp=rp, precision=precision, now_ns=now_ns, first_line=first_line, fast=True
    )


def parse_body_exact(
    body: bytes,
    *,
    db: str,
    rp: str,
    precision: str = "ns",
    now_ns: int,
    first_line: int = 1,
) -> tuple[PointBatch, list[LineProtocolError]]:
    """`parse_body` with every line through the character scanner (for tests and debugging)."""
    return _parse(
        body, db=db, rp=rp, precision=precision, now_ns=now_ns, first_line=first_line, fast=False
    )
