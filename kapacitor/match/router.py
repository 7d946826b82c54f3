"""Which rows of a batch reach which plugin, and how they split into plugin instances.

`route(batch, routes)` gives every plugin the sub-batch of rows it subscribes to: same db / rp
(when the route sets them), same measurement (`--from`), and its where predicate true. Rows keep
their input order. Plugins that get no row are absent from the result.

`instance_keys(batch, group_by)` names the plugin instance of every row: its series
(`cpu,dc=east,host=a`) or, with `--group-by`, the values of the group-by tags (`dc=east,host=a`,
tags sorted by key, a missing tag as an empty value). Keys escape `,`, `=`, space and backslash
with a backslash (line-protocol style), so distinct instances never share a key.

Both work per distinct series and broadcast to rows: the measurement split is one pass over the
rows shared by all routes, so 100 plugins on 100 measurements do not scan the batch 100 times.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from kapacitor.match.predicate import DEFAULT_CACHE_LIMIT, Predicate, compile_where
from kapacitor.match.where import parse_where
from kapacitor.model.batch import PointBatch, SeriesKey
from kapacitor.plugins.model import PluginDefinition

__all__ = [
    "InstanceResolver",
    "PluginRoute",
    "instance_keys",
    "instance_tags",
    "route",
    "routes_for",
    "series_instance_key",
]

IndexArray = npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class PluginRoute:
    """What one plugin subscribes to. `db` / `rp` None match any; `where` defaults to all;
    `measurement` '' matches any (a live recording without --from: plugins always have one)."""

    name: str
    measurement: str
    db: str | None = None
    rp: str | None = None
    where: Predicate = field(default_factory=lambda: compile_where(None))
    group_by: tuple[str, ...] | None = None


def _by_measurement(batch: PointBatch) -> dict[str, tuple[IndexArray, IndexArray]]:
    """measurement -> (row indices in input order, indices into batch.series)."""
    n = len(batch)
    measurements = [s.measurement for s in batch.series]
    names = list(dict.fromkeys(measurements))
    if len(names) == 1:  # the common case: nothing to split
        return {
            names[0]: (np.arange(n, dtype=np.intp), np.arange(len(batch.series), dtype=np.intp))
        }
    position = {m: i for i, m in enumerate(names)}
    series_mid = np.array(list(map(position.__getitem__, measurements)), dtype=np.intp)
    row_mid = series_mid[batch.series_idx]
    order = np.argsort(row_mid, kind="stable")  # stable: rows stay in input order per group
    bounds = np.cumsum(np.bincount(row_mid, minlength=len(names)))
    row_groups = np.split(order, bounds[:-1])
    s_order = np.argsort(series_mid, kind="stable")
    s_bounds = np.cumsum(np.bincount(series_mid, minlength=len(names)))
    series_groups = np.split(s_order, s_bounds[:-1])
    return {
        m: (rows.astype(np.intp, copy=False), ser.astype(np.intp, copy=False))
        for m, rows, ser in zip(names, row_groups, series_groups, strict=True)
        if rows.size
    }


def route(batch: PointBatch, routes: Sequence[PluginRoute]) -> dict[str, PointBatch]:
    """plugin name -> its matching rows of `batch` (input order); plugins with none are left out.

    Route names must be unique (ValueError otherwise).
    """
    out: dict[str, PointBatch] = {}
    if len(batch) == 0 or not routes:
        return out
    groups: dict[str, tuple[IndexArray, IndexArray]] | None = None
    seen: set[str] = set()
    for r in routes:
        if r.name in seen:
            raise ValueError(f"duplicate plugin route name {r.name!r}")
        seen.add(r.name)
        if (r.db is not None and r.db != batch.db) or (r.rp is not None and r.rp != batch.rp):
            continue
        if not r.measurement:
            rows = np.arange(len(batch), dtype=np.intp)
            series = np.arange(len(batch.series), dtype=np.intp)
        else:
            if groups is None:
                groups = _by_measurement(batch)
            group = groups.get(r.measurement)
            if group is None:
                continue
            rows, series = group
        if not r.where.always_true:
            rows = rows[r.where.evaluate(batch, rows, candidate_series=series)]
            if rows.size == 0:
                continue
        out[r.name] = batch.take(rows)
    return out


_NEEDS_ESCAPE = re.compile(r"[\\,= ]")


def _escape(s: str) -> str:
    if _NEEDS_ESCAPE.search(s) is None:
        return s
    return s.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


# (series, group_by) -> key. Instances persist across batches, so their keys are worth keeping;
# bounded like the predicate caches.
_KEY_CACHE: dict[tuple[SeriesKey, tuple[str, ...] | None], str] = {}
_KEY_CACHE_LIMIT = DEFAULT_CACHE_LIMIT


def series_instance_key(series: SeriesKey, group_by: tuple[str, ...] | None) -> str:
    """The instance key of one series: see `instance_keys`."""
    cached = _KEY_CACHE.get((series, group_by))
    if cached is not None:
        return cached
    if group_by is None:
        parts = [_escape(series.measurement)]
        parts += [f"{_escape(k)}={_escape(v)}" for k, v in series.tags]
        key = ",".join(parts)
    else:
        tags = dict(series.tags)
        key = ",".join(f"{_escape(k)}={_escape(tags.get(k, ''))}" for k in sorted(set(group_by)))
    if len(_KEY_CACHE) >= _KEY_CACHE_LIMIT:
        _KEY_CACHE.clear()
    _KEY_CACHE[(series, group_by)] = key
    return key


def instance_keys(
    batch: PointBatch, group_by: tuple[str, ...] | None
) -> tuple[list[str], npt.NDArray[np.intp]]:
    """(distinct instance keys, in order of first row; per-row index into that list).

    An instance is a series (measurement + all tags) when `group_by` is None, else the values
    of the `group_by` tags (order and duplicates in `group_by` do not matter; `()` puts every
    row in one instance with key ''). Computed per distinct series, broadcast to rows.
    """
    n = len(batch)
    if n == 0:
        return [], np.zeros(0, dtype=np.intp)
    sidx = batch.series_idx
    _, first = np.unique(sidx, return_index=True)
    used = sidx[np.sort(first)].tolist()  # series in order of their first row
    keys: list[str] = []
    index: dict[str, int] = {}
    series_to_instance = np.zeros(len(batch.series), dtype=np.intp)
    for s in used:
        key = series_instance_key(batch.series[s], group_by)
        i = index.get(key)
        if i is None:
            i = index[key] = len(keys)
            keys.append(key)
        series_to_instance[s] = i
    per_row: IndexArray = series_to_instance[sidx]
    return keys, per_row


def instance_tags(
    batch: PointBatch,
    keys: list[str],
    per_row: npt.NDArray[np.intp],
    group_by: tuple[str, ...] | None,
) -> list[dict[str, str]]:
    """The tags of each instance listed by `instance_keys`: all tags of its series, or the
    group-by tags (a missing one as '')."""
    if not keys:
        return []
    _, first_row = np.unique(per_row, return_index=True)
    out: list[dict[str, str]] = []
    for row in first_row.tolist():
        series = batch.series[int(batch.series_idx[row])]
        if group_by is None:
            out.append(dict(series.tags))
        else:
            tags = dict(series.tags)
            out.append({k: tags.get(k, "") for k in sorted(set(group_by))})
    return out


# What the matcher logs after every change of the definitions (tests wait on it).
ROUTING_MESSAGE = "routing to %d enabled plugin(s)"


def routes_for(definitions: Iterable[PluginDefinition]) -> list[PluginRoute]:
    """The routes of plugin definitions (whose where clauses were checked when defined)."""
    out = []
    for d in definitions:
        if d.scheduled:  # reads its query's answers, not the stream
            continue
        where = compile_where(parse_where(d.where)) if d.where.strip() else compile_where(None)
        out.append(
            PluginRoute(
                name=d.name,
                measurement=d.from_,
                db=d.db or None,
                rp=d.rp or None,
                where=where,
                group_by=tuple(d.group_by) if d.group_by else None,
            )
        )
    return out


class InstanceResolver:
    """`instance_keys` and `instance_tags` in one pass, remembering each series' instance.

    One resolver per plugin: the series -> (key, tags) map is the plugin's own, so the hot path
    is one dict lookup per distinct series in the batch, and none per row.
    """

    def __init__(self, group_by: tuple[str, ...] | None, limit: int = DEFAULT_CACHE_LIMIT) -> None:
        self.group_by = group_by
        self.limit = limit
        self._known: dict[SeriesKey, tuple[str, dict[str, str]]] = {}

    def _instance(self, series: SeriesKey) -> tuple[str, dict[str, str]]:
        found = self._known.get(series)
        if found is None:
            key = series_instance_key(series, self.group_by)
            if self.group_by is None:
                tags = dict(series.tags)
            else:
                all_tags = dict(series.tags)
                tags = {k: all_tags.get(k, "") for k in sorted(set(self.group_by))}
            if len(self._known) >= self.limit:
                self._known.clear()
            found = self._known[series] = (key, tags)
        return found

    def resolve(
        self, batch: PointBatch
    ) -> tuple[list[str], npt.NDArray[np.intp], list[dict[str, str]]]:
        """(instance keys, per-row index into them, tags of each instance)."""
        if len(batch) == 0:
            return [], np.zeros(0, dtype=np.intp), []
        keys: list[str] = []
        tags: list[dict[str, str]] = []
        index: dict[str, int] = {}
        series_to_instance = np.empty(len(batch.series), dtype=np.intp)
        instance = self._instance
        for s, series in enumerate(batch.series):
            key, t = instance(series)
            i = index.get(key)
            if i is None:
                i = index[key] = len(keys)
                keys.append(key)
                tags.append(t)
            series_to_instance[s] = i
        per_row: IndexArray = series_to_instance[batch.series_idx]
        return keys, per_row, tags
