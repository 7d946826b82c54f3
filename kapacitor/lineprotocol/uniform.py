"""The fastest path: a body whose lines all look alike, decoded in one compiled pass.

Telegraf and most agents send bodies where every line is `key fields timestamp` with the same
numeric field names in the same order and no quotes or escapes. For such a body the per-line
Python loop is not needed: `_uniform.scan` (C) walks the bytes once, packing each field into a
column and numbering the distinct series keys. Anything that does not fit returns None and the
per-line pass (fast.py) takes the body, so this path only ever accepts bodies on which it agrees
with the exact scanner (a hypothesis test checks that). Without the compiled module (no C
compiler at install time) every body takes the per-line pass: slower, same results.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from kapacitor.lineprotocol.fast import Bail, parse_series
from kapacitor.lineprotocol.syntax import MAX_TIME_NS, MIN_TIME_NS
from kapacitor.model.batch import Column, FieldType, PointBatch, SeriesKey

_compiled: ModuleType | None
try:
    from kapacitor.lineprotocol import _uniform as _compiled
except ImportError:  # pragma: no cover - only where the extension could not be built
    _compiled = None

COMPILED = _compiled is not None

_SERIES_CACHE: dict[bytes, SeriesKey] = {}
_SERIES_CACHE_LIMIT = 100_000
_DTYPES = {
    FieldType.FLOAT: np.float64,
    FieldType.INT: np.int64,
    FieldType.UINT: np.uint64,
}


def _series(raw: bytes) -> SeriesKey:
    sk = _SERIES_CACHE.get(raw)
    if sk is None:
        sk = parse_series(raw)
        if len(_SERIES_CACHE) >= _SERIES_CACHE_LIMIT:
            _SERIES_CACHE.clear()
        _SERIES_CACHE[raw] = sk
    return sk


def parse_uniform(body: bytes, *, db: str, rp: str, mult: int) -> PointBatch | None:
    """The batch of a uniform body (every line timestamped, same numeric fields), else None."""
    if _compiled is None:
        return None
    scanned = _compiled.scan(body, -(-MIN_TIME_NS // mult), MAX_TIME_NS // mult)
    if scanned is None:
        return None
    keys, sidx_raw, names, types, cols, times_raw = scanned
    sidx = np.frombuffer(sidx_raw, dtype=np.int32)
    try:
        series: list[SeriesKey] = []
        seen: dict[SeriesKey, int] = {}
        remap: list[int] = []
        for raw in keys:
            # Two spellings of one series (tags in another order) share an id.
            sk = _series(raw)
            i = seen.get(sk)
            if i is None:
                i = seen[sk] = len(series)
                series.append(sk)
            remap.append(i)
        columns = {
            name.decode(): Column(
                FieldType(code), np.frombuffer(col, dtype=_DTYPES[FieldType(code)])
            )
            for name, code, col in zip(names, types, cols, strict=True)
        }
    except (Bail, ValueError, UnicodeDecodeError):
        return None
    if len(series) < len(keys):
        sidx = np.asarray(remap, dtype=np.int32)[sidx]
    times = np.frombuffer(times_raw, dtype=np.int64)
    if mult != 1:
        times = times * mult
    return PointBatch(db, rp, series, sidx, times, columns)
