"""A topic handler's `match`: a where clause (docs/where.md) over alert events.

An event reads as one point of the measurement `alert` whose tags are the instance's tags and
whose fields are the event's own: `level`, `previous_level` (strings: OK, INFO, WARNING,
CRITICAL), `changed` (a bool: the level differs from the previous one), `value`, `duration`
(ns), `plugin`, `topic`, `id`, `message`, `details` and `category`. So
`level = 'CRITICAL' and host =~ /^web/` means what it means in a plugin's `--where`,
evaluated by the same predicate code. A tag named like
a field wins, as a tag does in a where clause; `"level"::field` reads the event's own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from kapacitor.match.predicate import Predicate, compile_where
from kapacitor.match.where import parse_where
from kapacitor.model.batch import Column, FieldType, PointBatch, SeriesKey

MEASUREMENT = "alert"
_STRINGS = ("level", "previous_level", "plugin", "topic", "id", "message", "details", "category")
# The event document's name of each field, where it differs (Kapacitor's previousLevel).
_DOC_NAME = {"previous_level": "previousLevel"}


class EventMatch:
    """A compiled `match` ("" matches every event)."""

    def __init__(self, text: str) -> None:
        self.text = text.strip()
        self._predicate: Predicate = compile_where(parse_where(self.text) if self.text else None)

    def __str__(self) -> str:
        return self.text

    def matches(self, docs: Sequence[Mapping[str, Any]]) -> list[bool]:
        """Whether each event document (kapacitor.alerting.document) matches."""
        if not self.text:
            return [True] * len(docs)
        if not docs:
            return []
        return [bool(b) for b in self._predicate.evaluate(events_batch(docs))]


def events_batch(docs: Sequence[Mapping[str, Any]]) -> PointBatch:
    """The events as points: one series per distinct tag set."""
    n = len(docs)
    series: list[SeriesKey] = []
    index: dict[tuple[tuple[str, str], ...], int] = {}
    idx = np.empty(n, np.int32)
    for i, d in enumerate(docs):
        tags = d.get("tags") or {}
        key = tuple(sorted((str(k), str(v)) for k, v in tags.items()))
        j = index.get(key)
        if j is None:
            j = index[key] = len(series)
            series.append(SeriesKey(MEASUREMENT, key))
        idx[i] = j
    fields: dict[str, Column] = {}
    for name in _STRINGS:
        values = [d.get(_DOC_NAME.get(name, name)) for d in docs]
        present = np.array([isinstance(v, str) for v in values], np.bool_)
        arr = np.array([v if isinstance(v, str) else "" for v in values], dtype=object)
        fields[name] = Column(FieldType.STRING, arr, None if present.all() else present)
    fields["changed"] = Column(
        FieldType.BOOL,
        np.array([d.get("level") != d.get("previousLevel") for d in docs], np.bool_),
    )
    fields["value"] = _number(docs, "value", FieldType.FLOAT, np.float64)
    fields["duration"] = _number(docs, "duration", FieldType.INT, np.int64)
    times = np.array([int(d.get("time_ns") or 0) for d in docs], np.int64)
    return PointBatch("", "", series, idx, times, fields)


def _number(docs: Sequence[Mapping[str, Any]], name: str, ftype: FieldType, dtype: Any) -> Column:
    values = [d.get(name) for d in docs]
    ok = [isinstance(v, int | float) and not isinstance(v, bool) for v in values]
    arr = np.array([v if good else 0 for v, good in zip(values, ok, strict=True)], dtype)
    present = np.array(ok, np.bool_)
    return Column(ftype, arr, None if present.all() else present)
