"""Which partition each plugin instance belongs to, and a plugin's batch split by partition.

An instance's partition is `crc32(plugin + "\\0" + instance key) mod P` (the instance key as
`router.series_instance_key` spells it): stable across processes, hosts and restarts, unlike
Python's `hash()`, which is salted per process. P is fixed for a deployment (docs/cluster.md).

The split works per distinct series and broadcasts to rows, like the router: a series'
partition is computed once and remembered, so the hot path is one dict lookup per series in
the batch and none per row.
"""

from __future__ import annotations

import zlib

import numpy as np
import numpy.typing as npt

from kapacitor.match.predicate import DEFAULT_CACHE_LIMIT
from kapacitor.match.router import series_instance_key
from kapacitor.model.batch import PointBatch, SeriesKey, take_fields

__all__ = ["Partitioner", "partition_of"]

IndexArray = npt.NDArray[np.intp]


def partition_of(plugin: str, instance_key: str, partitions: int) -> int:
    """The partition of one instance of `plugin` among `partitions`."""
    return zlib.crc32(f"{plugin}\0{instance_key}".encode()) % partitions


class Partitioner:
    """Splits one plugin's batches by partition; one per plugin (its series -> partition map
    is the plugin's own, as its group-by decides the instance)."""

    def __init__(
        self,
        plugin: str,
        group_by: tuple[str, ...] | None,
        partitions: int,
        limit: int = DEFAULT_CACHE_LIMIT,
    ) -> None:
        if partitions < 1:
            raise ValueError(f"partitions must be at least 1, got {partitions}")
        self.plugin = plugin
        self.group_by = group_by
        self.partitions = partitions
        self.limit = limit
        self._known: dict[SeriesKey, int] = {}

    def _partition(self, series: SeriesKey) -> int:
        key = series_instance_key(series, self.group_by)
        if len(self._known) >= self.limit:
            self._known.clear()
        p = self._known[series] = partition_of(self.plugin, key, self.partitions)
        return p

    def series_partitions(self, batch: PointBatch) -> IndexArray:
        """The partition of each of `batch.series`."""
        get = self._known.get
        found = [get(s) for s in batch.series]
        if None in found:
            found = [
                p if p is not None else self._partition(s)
                for s, p in zip(batch.series, found, strict=True)
            ]
        return np.fromiter(found, dtype=np.intp, count=len(found))

    def split(self, batch: PointBatch) -> dict[int, PointBatch]:
        """partition -> its rows of `batch`, in input order; partitions with no row are left
        out (the keys ascend)."""
        if len(batch) == 0:
            return {}
        if self.partitions == 1:
            return {0: batch}
        series_p = self.series_partitions(batch)
        row_p = series_p[batch.series_idx]
        counts = np.bincount(row_p, minlength=self.partitions)
        if np.count_nonzero(counts) == 1:  # one partition: nothing to copy
            return {int(row_p[0]): batch}
        # Stable sorts: rows keep their input order within a partition, series their order.
        row_groups = np.split(np.argsort(row_p, kind="stable"), np.cumsum(counts)[:-1])
        s_counts = np.bincount(series_p, minlength=self.partitions)
        s_groups = np.split(np.argsort(series_p, kind="stable"), np.cumsum(s_counts)[:-1])
        used = np.zeros(len(batch.series), dtype=np.bool_)
        used[batch.series_idx] = True
        if not used.all():  # a series no row refers to goes to no sub-batch
            s_groups = [g[used[g]] for g in s_groups]
        # Each series' index among its partition's series: the sub-batches' series_idx, with
        # no np.unique per sub-batch (what PointBatch.take would do).
        local = np.empty(len(batch.series), dtype=np.int32)
        for group in s_groups:
            local[group] = np.arange(group.size, dtype=np.int32)
        out: dict[int, PointBatch] = {}
        for p in np.flatnonzero(counts).tolist():
            rows = row_groups[p]
            out[p] = PointBatch(
                batch.db,
                batch.rp,
                [batch.series[i] for i in s_groups[p].tolist()],
                local[batch.series_idx[rows]],
                batch.time[rows],
                take_fields(batch.fields, rows),
            )
        return out
