"""http_out(): each instance's latest values, kept by the interpreter running it and served by
the API at GET /kapacitor/v1/plugins/<plugin>/<name>, as Kapacitor's httpOut serves them (an
InfluxDB-style document, a series per instance). No I/O here: the interpreter keeps a
`LatestValues` and answers `HttpOutQuery`s with `answer`; the API joins the answers of every
interpreter with `http_out_document`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
import numpy as np

from kapacitor.alerting.document import rfc3339
from kapacitor.model.batch import PointBatch, SeriesKey

__all__ = ["HttpOutQuery", "LatestValues", "http_out_document"]


class HttpOutQuery(msgspec.Struct, frozen=True):
    plugin: str
    name: str


class _Latest(msgspec.Struct):
    name: str  # measurement
    tags: dict[str, str]
    time: int
    fields: dict[str, Any]


class LatestValues:
    def __init__(self) -> None:
        self._held: dict[tuple[str, str], dict[SeriesKey, _Latest]] = {}

    def update(self, plugin: str, name: str, batch: PointBatch) -> None:
        """Keep, per series of `batch`, its last row's values (a field each output)."""
        if not len(batch):
            return
        held = self._held.setdefault((plugin, name), {})
        # The last row of each series: the first of the reversed rows.
        rev = batch.series_idx[::-1]
        series, first = np.unique(rev, return_index=True)
        last = len(batch) - 1 - first
        for s, row in zip(series.tolist(), last.tolist(), strict=True):
            key = batch.series[s]
            t = int(batch.time[row])
            entry = held.get(key)
            if entry is None:
                entry = held[key] = _Latest(key.measurement, dict(key.tags), t, {})
            elif t < entry.time:
                continue  # older than what is held (another output's field may be newer)
            entry.time = t
            for field, col in batch.fields.items():
                if col.present is None or bool(col.present[row]):
                    v = col.values[row]
                    entry.fields[field] = v.item() if hasattr(v, "item") else v

    def forget(self, plugin: str) -> None:
        for key in [k for k in self._held if k[0] == plugin]:
            del self._held[key]

    def answer(self, q: HttpOutQuery) -> bytes:
        return msgspec.json.encode(list(self._held.get((q.plugin, q.name), {}).values()))


def http_out_document(answers: Iterable[bytes]) -> dict[str, Any]:
    """The endpoint's document from every interpreter's answer: a series per instance (the
    newest when two interpreters hold one, as after a partition moved), sorted by tags."""
    best: dict[tuple[str, tuple[tuple[str, str], ...]], _Latest] = {}
    for data in answers:
        try:
            entries = msgspec.json.decode(data, type=list[_Latest])
        except msgspec.DecodeError:
            continue
        for e in entries:
            key = (e.name, tuple(sorted(e.tags.items())))
            if key not in best or best[key].time < e.time:
                best[key] = e
    series = []
    for key in sorted(best):
        e = best[key]
        columns = sorted(e.fields)
        series.append(
            {
                "name": e.name,
                "tags": e.tags,
                "columns": ["time", *columns],
                "values": [[rfc3339(e.time), *(e.fields[c] for c in columns)]],
            }
        )
    return {"series": series}
