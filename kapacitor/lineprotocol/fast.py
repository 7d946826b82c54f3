"""One pass over a body's lines: the fast path for plain lines, the scanner for the rest.

A line without ``"`` or ``\\`` goes through a fast path built from ``bytes.split`` and dict
caches that leaves all number parsing and validation to one bulk step per column at the end
(columns.py). Anything the fast path does not recognise goes to the exact scanner (scan.py),
which also writes every error message. `materialize` returns the lines whose values failed bulk
validation; the decoder then runs a new pass with those lines forced onto the scanner.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from kapacitor.lineprotocol.columns import Col, bulk_times, bulk_values, to_column
from kapacitor.lineprotocol.scan import Point, scan_point
from kapacitor.lineprotocol.syntax import (
    BOOLEAN,
    BOOLS,
    FLOAT,
    INTEGER,
    MAX_KEY_LENGTH,
    TYPE_NAMES,
    UNSIGNED,
)
from kapacitor.lineprotocol.validate import CHECKS, LineError, check_time
from kapacitor.model.batch import Column, PointBatch, SeriesKey

__all__ = ["TYPE_CONFLICT", "Bail", "LinePass", "parse_series"]

TYPE_CONFLICT = "field type conflict"  # how the error of a field given two types begins


class Bail(Exception):
    """The fast path cannot handle this line; the scanner will."""


def parse_series(raw: bytes) -> SeriesKey:
    """Series of an escape-free key (fast path); raises Bail if anything is unusual."""
    if len(raw) > MAX_KEY_LENGTH:
        raise Bail
    parts = raw.split(b",")
    name = parts[0]
    if not name or name[0] in b" \t#":
        raise Bail
    if len(parts) == 1:
        return SeriesKey(name.decode())
    tags: dict[str, str] = {}
    for part in parts[1:]:
        k, v = part.split(b"=")
        if not k or not v:
            raise Bail
        tags[k.decode()] = v.decode()
    if len(tags) != len(parts) - 1:
        raise Bail
    return SeriesKey(name.decode(), tuple(sorted(tags.items())))


class LinePass:
    """One pass over the body; `force` holds line indexes that must use the scanner."""

    def __init__(
        self,
        now_raw: bytes,
        mult: int,
        precision: str,
        force: frozenset[int],
        known: Mapping[tuple[str, str], int] | None = None,
    ) -> None:
        self.now_raw = now_raw
        self.mult = mult
        self.precision = precision
        self.force = force
        self.cols: dict[str, Col] = {}
        self.series: list[SeriesKey] = []
        self.series_index: dict[SeriesKey, int] = {}
        self.sidx: list[int] = []
        self.times: list[bytes] = []
        self.row_line: list[int] = []
        self.errors: list[tuple[int, str, bytes]] = []
        self.maybe_unused_series = False
        # Field types are InfluxDB's per measurement, a batch column's per name. From the
        # first clash of names on, (measurement, field) -> type of what is taken (and of
        # `known`, earlier passes over the body): a clash within a measurement is a bad line,
        # one with other measurements only defers the line, and every later one of its
        # measurement, to a next pass (`deferred`: index and physical lines of each).
        self.mtypes: dict[tuple[str, str], int] | None = dict(known) if known else None
        self.deferred: list[tuple[int, int]] = []
        self.deferred_measurements: set[str] = set()

    def series_id(self, sk: SeriesKey) -> int:
        si = self.series_index.get(sk)
        if si is None:
            si = self.series_index[sk] = len(self.series)
            self.series.append(sk)
        return si

    def run(self, lines: list[bytes], raw_lines: list[bytes], fast: bool) -> None:
        force = self.force
        now_raw = self.now_raw
        fcache: dict[bytes, Col] = {}
        scache: dict[bytes, int] = {}
        sidx = self.sidx
        times = self.times
        row_line = self.row_line
        bools = BOOLS
        t_float, t_int, t_uint, t_bool = FLOAT, INTEGER, UNSIGNED, BOOLEAN
        row = 0
        skip = 0
        fast = fast and self.mtypes is None
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
                            raise Bail
                    elif len(parts) == 2:
                        key, fs = parts
                        ts = now_raw
                    else:
                        raise Bail
                    si = scache.get(key)
                    if si is None:
                        si = scache[key] = self.series_id(parse_series(key))
                        self.maybe_unused_series = True
                    for kv in fs.split(b","):
                        k, v = kv.split(b"=")
                        x: Any = v
                        c = v[-1]
                        if c <= 57:  # digits, '.', '-' ... bulk validation sorts them out
                            t = t_float
                        elif c == 105:  # 'i'
                            t = t_int
                        elif c == 117:  # 'u'
                            t = t_uint
                        else:
                            x = bools[v]
                            t = t_bool
                        col = fcache.get(k)
                        if col is None:
                            col = self._fast_col(fcache, k, t)
                        elif col.type != t:
                            raise Bail
                        col.rows.append(row)
                        col.vals.append(x)
                except (Bail, ValueError, KeyError, IndexError, UnicodeDecodeError):
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
                if point is not None and self._commit(point, row, i, used):
                    row += 1
            except LineError as e:
                self.errors.append((i, str(e.args[0]), line))
            # once field types are followed per measurement, every line must go by _commit
            fast = fast and self.mtypes is None

    def _fast_col(self, fcache: dict[bytes, Col], k: bytes, t: int) -> Col:
        if not k:
            raise Bail
        name = k.decode()
        col = self.cols.get(name)
        if col is None:
            col = self.cols[name] = Col(t)
        elif col.type != t:
            raise Bail
        fcache[k] = col
        return col

    def _rollback(self, fcache: dict[bytes, Col], row: int) -> None:
        for name, col in list(self.cols.items()):
            while col.rows and col.rows[-1] == row:
                col.rows.pop()
                col.vals.pop()
            if not col.rows:
                del self.cols[name]
                for k in [k for k, c in fcache.items() if c is col]:
                    del fcache[k]

    def _commit(self, point: Point, row: int, i: int, used: int) -> bool:
        """Take the point as row `row`; False when it is deferred to a next pass."""
        sk, fields, ts = point
        if ts is not None:
            check_time(ts, self.mult, self.precision)
        m = sk.measurement
        if m in self.deferred_measurements:
            self.deferred.append((i, used))
            return False
        cols = self.cols
        mtypes = self.mtypes
        defer = False
        for key, (t, _) in fields.items():
            col = cols.get(key)
            clash = col is not None and col.type != t
            if clash and mtypes is None:
                mtypes = self.mtypes = self._types_by_measurement()
            had = mtypes.get((m, key)) if mtypes is not None else None
            if had is not None and had != t:
                raise LineError(
                    f"{TYPE_CONFLICT}: {key!r} of measurement {m!r} is {TYPE_NAMES[had]} "
                    f"earlier in this request, got {TYPE_NAMES[t]}"
                )
            defer = defer or clash
        if defer:
            self.deferred.append((i, used))
            self.deferred_measurements.add(m)
            return False
        if mtypes is not None:
            for key, (t, _) in fields.items():
                mtypes[(m, key)] = t
        for key, (t, v) in fields.items():
            col = cols.get(key)
            if col is None:
                col = cols[key] = Col(t)
            col.rows.append(row)
            col.vals.append(v)
        self.times.append(self.now_raw if ts is None else ts)
        self.sidx.append(self.series_id(sk))
        self.row_line.append(i)
        return True

    def _types_by_measurement(self) -> dict[tuple[str, str], int]:
        out: dict[tuple[str, str], int] = {}
        series, sidx = self.series, self.sidx
        for name, col in self.cols.items():
            for r in col.rows:
                out[(series[sidx[r]].measurement, name)] = col.type
        return out

    def materialize(self, db: str, rp: str) -> tuple[PointBatch | None, set[int]]:
        """The batch, or the line indexes whose values failed bulk validation."""
        bad_rows: set[int] = set()
        n = len(self.times)
        times = bulk_times(self.times, self.mult)
        if times is None:
            for r, raw in enumerate(self.times):
                try:
                    check_time(raw, self.mult, self.precision)
                except LineError:
                    bad_rows.add(r)
        columns: dict[str, Column] = {}
        for name, col in self.cols.items():
            values = bulk_values(col)
            if values is None:
                check = CHECKS[col.type]
                for r, raw in zip(col.rows, col.vals, strict=True):
                    try:
                        check(raw, name)
                    except LineError:
                        bad_rows.add(r)
                continue
            if not bad_rows:
                columns[name] = to_column(col, values, n)
        if bad_rows:
            return None, {self.row_line[r] for r in bad_rows}
        assert times is not None
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
