"""The matcher's work on one fetch of point batches: join, route, split by partition.

Joining consecutive batches first (up to `join_rows` rows) keeps the messages on the MATCHED
stream large: split by P partitions, one input batch of 5,000 rows would make P messages of
~150 rows, and every message costs the bus and the interpreter about as much whatever its size
(docs/cluster.md has the figures).

A run of inputs is named by the stream sequences of its first and last batch, so the matcher can
give its messages ids that are the same when the same inputs are split again after a
redelivery; a run is only named when its sequences are contiguous (no message of the range
missing), as only then does the range say exactly which inputs it holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from kapacitor.match.partition import Partitioner
from kapacitor.match.router import PluginRoute, route
from kapacitor.model.batch import PointBatch, concat_batches, joinable_runs

__all__ = ["Fanout", "Split"]


@dataclass(frozen=True, slots=True)
class Split:
    """The rows of one plugin and one partition from the inputs `first_seq`..`last_seq`;
    `named` when those inputs are exactly that range of sequences."""

    plugin: str
    partition: int
    batch: PointBatch
    first_seq: int
    last_seq: int
    named: bool


class Fanout:
    """Routes and splits fetched point batches; keeps each plugin's `Partitioner` (and so its
    series -> partition map) while its group-by stays the same."""

    def __init__(self, partitions: int, join_rows: int) -> None:
        self.partitions = partitions
        self.join_rows = join_rows
        self.routes: list[PluginRoute] = []
        self._partitioners: dict[str, Partitioner] = {}

    def set_routes(self, routes: Sequence[PluginRoute]) -> None:
        self.routes = list(routes)
        kept: dict[str, Partitioner] = {}
        for r in self.routes:
            old = self._partitioners.get(r.name)
            if old is not None and old.group_by == r.group_by:
                kept[r.name] = old
            else:
                kept[r.name] = Partitioner(r.name, r.group_by, self.partitions)
        self._partitioners = kept

    def split_plugin(self, plugin: str, batch: PointBatch) -> dict[int, PointBatch]:
        """A batch already matched to `plugin` (as MATCHED held them before partitions) by
        partition; nothing when the plugin is no longer routed."""
        partitioner = self._partitioners.get(plugin)
        return partitioner.split(batch) if partitioner is not None else {}

    def split(self, inputs: Sequence[tuple[int, PointBatch]]) -> list[Split]:
        """(stream sequence, batch) of one fetch, in stream order -> the messages to publish, in
        the order that keeps every instance's rows in input order."""
        out: list[Split] = []
        batches = [b for _, b in inputs]
        for start, end in joinable_runs(batches, self.join_rows):
            first, last = inputs[start][0], inputs[end - 1][0]
            seqs = [seq for seq, _ in inputs[start:end]]
            named = all(b == a + 1 for a, b in pairwise(seqs))
            joined = concat_batches(batches[start:end])
            for plugin, rows in route(joined, self.routes).items():
                for p, sub in self._partitioners[plugin].split(rows).items():
                    out.append(Split(plugin, p, sub, first, last, named))
        return out
