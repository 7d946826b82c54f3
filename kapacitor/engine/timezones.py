"""Local wall-clock seconds of UTC instants, for hour(), minute(), weekday() and day().

A zone's UTC offset is constant between transitions, so it is looked up once per distinct
hour of the batch (at the hour's first and last second) rather than per row; only an hour
that holds a transition (offsets differ at its ends) is looked up per distinct second. A
batch of live points spans a few hours at most, so this is a handful of zoneinfo calls.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from kapacitor.dsl.zones import UTC, zone
from kapacitor.engine.groups import IntArray

_HOUR = 3600


def _offsets(seconds: list[int], tz: dt.tzinfo) -> IntArray:
    out = np.empty(len(seconds), np.int64)
    for i, s in enumerate(seconds):
        offset = dt.datetime.fromtimestamp(s, tz).utcoffset()
        out[i] = 0 if offset is None else int(offset.total_seconds())
    return out


def local_seconds(secs: IntArray, name: str) -> IntArray:
    """`secs` (seconds since the epoch, UTC) as seconds since the epoch of local wall time."""
    if name == UTC or secs.shape[0] == 0:
        return secs
    tz = zone(name)
    hours, inverse = np.unique(secs // _HOUR, return_inverse=True)
    starts = (hours * _HOUR).tolist()
    at_start = _offsets(starts, tz)
    at_end = _offsets([s + _HOUR - 1 for s in starts], tz)
    offsets = at_start[inverse]
    for h in np.flatnonzero(at_start != at_end).tolist():  # a transition inside this hour
        rows = np.flatnonzero(inverse == h)
        uniq, inv = np.unique(secs[rows], return_inverse=True)
        offsets[rows] = _offsets(uniq.tolist(), tz)[inv]
    result: IntArray = secs + offsets
    return result
