"""The fastest path: a body whose lines all look alike, decoded with whole-body bytes operations.

Telegraf and most agents send bodies where every line is `key fields timestamp` with the same
numeric field names in the same order and no quotes or escapes. For such a body the per-line
Python loop is not needed: splitting the whole body, slicing the token lists and converting each
column in bulk is several times faster. Anything that does not fit returns None and the per-line
pass (fast.py) takes the body, so this path only ever accepts bodies on which it agrees with the
exact scanner (a hypothesis test checks that).
"""

from __future__ import annotations

from itertools import repeat
from typing import Any

import numpy as np

from kapacitor.lineprotocol.columns import Col, bulk_times, bulk_values
from kapacitor.lineprotocol.fast import Bail, parse_series
from kapacitor.lineprotocol.syntax import FLOAT, INTEGER, UNSIGNED
from kapacitor.model.batch import Column, FieldType, PointBatch, SeriesKey

_SERIES_CACHE: dict[bytes, SeriesKey] = {}
_SERIES_CACHE_LIMIT = 100_000
_NOT_UNIFORM = (b'"', b"\\", b"\r", b"\t", b"\n\n", b"\n#", b"\n ", b" \n", b"  ")
_TYPES = {ord("i"): INTEGER, ord("u"): UNSIGNED}


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
    if body.endswith(b"\n"):
        body = body[:-1]
    if not body or body[0] in b"# \n" or body.endswith(b" "):
        return None
    for bad in _NOT_UNIFORM:
        if bad in body:
            return None
    lines = body.split(b"\n")
    n = len(lines)
    if list(map(bytes.count, lines, repeat(b" "))).count(2) != n:
        return None
    parts = body.replace(b"\n", b" ").split(b" ")
    keys, fields, stamps = parts[0::3], parts[1::3], parts[2::3]
    try:
        ids: dict[bytes, int] = {}
        series: list[SeriesKey] = []
        seen: dict[SeriesKey, int] = {}
        for raw in dict.fromkeys(keys):
            # Two spellings of one series (tags in another order) share an id.
            sk = _series(raw)
            i = seen.get(sk)
            if i is None:
                i = seen[sk] = len(series)
                series.append(sk)
            ids[raw] = i
    except (Bail, ValueError, UnicodeDecodeError):
        return None
    sidx = np.fromiter(map(ids.__getitem__, keys), dtype=np.int32, count=n)

    k = fields[0].count(b",") + 1
    if list(map(bytes.count, fields, repeat(b","))).count(k - 1) != n:
        return None
    pairs = b",".join(fields).split(b",")
    if list(map(bytes.count, pairs, repeat(b"="))).count(1) != len(pairs):
        return None
    flat = b"=".join(pairs).split(b"=")
    names, values = flat[0::2], flat[1::2]
    first = names[:k]
    if len(set(first)) != k or not all(first):
        return None
    columns: dict[str, Column] = {}
    for j, name in enumerate(first):
        if names[j::k].count(name) != n:
            return None
        vals = values[j::k]
        last = vals[0][-1:] or b"?"
        ftype = _TYPES.get(last[0], FLOAT if last[0] in b"0123456789." else -1)
        if ftype < 0:
            return None
        col = Col(ftype)
        col.vals = vals
        arr: Any = bulk_values(col)
        if arr is None:
            return None
        try:
            columns[name.decode()] = Column(FieldType(ftype), arr)
        except UnicodeDecodeError:
            return None

    times = bulk_times(stamps, mult)
    if times is None or not n:
        return None
    return PointBatch(db, rp, series, sidx, times, columns)
