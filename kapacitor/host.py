"""The interpreter's domain: every enabled plugin's program, rebuilt when its definition
changes, and its instances' state in one runtime per partition, so the state of a partition can
be saved, dropped and restored on its own when the partition changes owner (docs/cluster.md).
No I/O: the service fetches the batches, delivers the events, saves the state and publishes
the counters. A host that is not partitioned (a replay, a test) runs everything as partition 0.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import msgspec
import numpy as np

from kapacitor.clock import Clock
from kapacitor.dsl.compile import compile_script
from kapacitor.engine import AlertEvent, PluginRuntime, build_program
from kapacitor.engine.events import RaisedAlert
from kapacitor.engine.outputs import Output
from kapacitor.engine.plan import Program
from kapacitor.engine.runtime import ProcessResult
from kapacitor.errors import KapacitorError
from kapacitor.match.partition import partition_of
from kapacitor.match.router import InstanceResolver
from kapacitor.model import PointBatch, concat_batches, joinable_runs
from kapacitor.plugins import (
    PluginDefinition,
    PluginStats,
    expire_ns,
    state_fingerprint,
    sum_stats,
)
from kapacitor.plugins.state import StoredState

log = logging.getLogger("kapacitor.interpreter")
TEMPLATE_ERRORS_LOGGED_EVERY = 1000


@dataclass
class Slot:
    definition: PluginDefinition
    program: Program
    instances: InstanceResolver
    expire_ns: int = 0  # forget instances silent this long; 0: never
    limit: int = 0  # instances of the plugin in this host at most; 0: no limit
    runtimes: dict[int, PluginRuntime] = field(default_factory=dict)  # by partition


class PluginHost:
    def __init__(
        self,
        clock: Clock,
        default_expire_ns: int = 0,
        default_max_instances: int = 0,
        partitions: int = 1,
        collect_outputs: bool = False,
    ) -> None:
        self.clock = clock
        # What the plugins' outputs wrote, (plugin, partition, output), until taken (a replay
        # collects none: it is a test run).
        self._outputs: list[tuple[str, int, Output]] | None = [] if collect_outputs else None
        self.default_expire_ns = default_expire_ns  # for plugins without --expire; 0: never
        self.default_max_instances = default_max_instances  # 0: no limit
        self.partitions = partitions  # P of the deployment: which instances a partition holds
        self.slots: dict[str, Slot] = {}
        # Counters per plugin and partition: they are saved and move with the partition.
        self._stats: dict[tuple[str, int], PluginStats] = {}
        self._dirty: set[tuple[str, int]] = set()
        self._known: set[str] = set()  # every defined plugin, enabled or not
        # Saved state of open partitions, restored when the plugin's runtime is made:
        # (plugin, partition) -> state, and whole-plugin state from before partitions.
        self._saved: dict[tuple[str, int], StoredState] = {}
        self._whole: dict[tuple[str, int], StoredState] = {}
        self._open: set[int] = set()
        self._changed: set[int] = set()

    # -- definitions -------------------------------------------------------------------------

    def sync(self, definitions: Iterable[PluginDefinition]) -> list[str]:
        """Load new or re-defined enabled plugins; drop disabled and deleted ones.

        Returns the plugins whose state ended (dropped or re-defined); the open partitions
        count as changed, so their saved state drops it too. A plugin loaded while a
        partition is open restores the partition's saved state of the same definition.
        """
        definitions = list(definitions)
        self._known = {d.name for d in definitions}
        for key in list(self._stats):
            if key[0] not in self._known:  # deleted: defined again later, it counts from zero
                del self._stats[key]
                self._dirty.discard(key)
        wanted = {d.name: d for d in definitions if d.enabled}
        ended = []
        for name in list(self.slots):
            if name not in wanted:
                del self.slots[name]
                ended.append(name)
        for name, d in wanted.items():
            slot = self.slots.get(name)
            if slot is not None and slot.definition.revision == d.revision:
                slot.definition = d
                continue
            try:
                program = build_program(compile_script(d.script))
                idle = expire_ns(d.expire) or self.default_expire_ns
            except KapacitorError as e:
                # Counted once, in the first partition held (validation makes this rare).
                for i, p in enumerate(sorted(self._open or {0})):
                    stats = self._counters(name, p)
                    stats.errors += i == 0
                    stats.last_error = f"cannot load: {e}"
                log.error("plugin %s cannot be loaded: %s", name, e)
                continue
            if name in self.slots:
                ended.append(name)
            slot = self.slots[name] = Slot(
                d,
                program,
                InstanceResolver(tuple(d.group_by) if d.group_by else None),
                expire_ns=idle,
                limit=d.max_instances or self.default_max_instances,
            )
            for p in sorted(self._open):
                self._runtime(slot, p)
                self._counters(name, p).revision = d.revision
        if ended:
            self._changed |= self._open
        return ended

    # -- partitions --------------------------------------------------------------------------

    def open_partition(
        self,
        p: int,
        saved: Mapping[str, StoredState],
        *,
        whole: bool = False,
        stats: Mapping[str, PluginStats] | None = None,
    ) -> int:
        """Start running partition `p` from `saved` (plugin -> its state in `p`; with `whole`,
        each plugin's state from before partitions, of which `p` keeps its own instances) and
        its counters; how many instances were restored."""
        self._open.add(p)
        for plugin, counted in (stats or {}).items():
            if plugin in self._known:
                self._stats[plugin, p] = msgspec.structs.replace(counted)
                self._dirty.add((plugin, p))
        into = self._whole if whole else self._saved
        for plugin, state in saved.items():
            into[plugin, p] = state
        restored = 0
        for name, slot in self.slots.items():
            runtime = self._runtime(slot, p)
            restored += runtime.instance_count
            counted = self._counters(name, p)
            counted.revision = slot.definition.revision
            counted.instances = runtime.instance_count
        return restored

    def close_partition(self, p: int) -> None:
        """Stop running partition `p` and forget its state (saved first, or not, by the
        caller)."""
        self._open.discard(p)
        self._changed.discard(p)
        for key in [k for k in (*self._saved, *self._whole) if k[1] == p]:
            self._saved.pop(key, None)
            self._whole.pop(key, None)
        for slot in self.slots.values():
            slot.runtimes.pop(p, None)
        for key in [k for k in self._stats if k[1] == p]:
            del self._stats[key]
            self._dirty.discard(key)

    def partition_state(self, p: int) -> dict[str, StoredState]:
        """The state of every plugin's instances in partition `p`, to save."""
        return {
            name: StoredState(state_fingerprint(slot.definition), slot.runtimes[p].snapshot())
            for name, slot in self.slots.items()
            if p in slot.runtimes
        }

    def partition_stats(self, p: int) -> dict[str, PluginStats]:
        """Every plugin's counters in partition `p`, to save with its state."""
        return {name: msgspec.structs.replace(s) for (name, q), s in self._stats.items() if q == p}

    def plugin_stats(self, plugin: str) -> PluginStats:
        """A plugin's counters over the partitions this host runs."""
        return sum_stats(plugin, (s for (name, _), s in self._stats.items() if name == plugin))

    def take_dirty(self) -> list[tuple[int, PluginStats]]:
        """(partition, counters) changed since the last call, to publish."""
        out = [
            (p, msgspec.structs.replace(self._stats[name, p])) for name, p in sorted(self._dirty)
        ]
        self._dirty.clear()
        return out

    def mark_dirty(self, keys: Iterable[tuple[str, int]]) -> None:
        """Count the (plugin, partition) counters as changed again: taken, not published."""
        self._dirty.update(k for k in keys if k in self._stats)

    def count_output(
        self, plugin: str, p: int, written: int, dropped: int = 0, error: str = ""
    ) -> None:
        """Count what an output of `plugin` sent for partition `p`, and what it dropped."""
        if plugin not in self._known:
            return  # deleted meanwhile
        stats = self._counters(plugin, p)
        stats.output_points += written
        stats.output_dropped += dropped
        if error:
            stats.last_error = error

    def _counters(self, plugin: str, p: int) -> PluginStats:
        self._dirty.add((plugin, p))
        stats = self._stats.get((plugin, p))
        if stats is None:
            stats = self._stats[plugin, p] = PluginStats(plugin=plugin)
        return stats

    def take_changed(self) -> set[int]:
        """The open partitions whose state changed since the last call."""
        changed, self._changed = self._changed & self._open, set()
        return changed

    def mark_changed(self, partitions: Iterable[int]) -> None:
        """Count `partitions` as changed again (taken, but their save did not happen)."""
        self._changed.update(partitions)

    def _runtime(self, slot: Slot, p: int) -> PluginRuntime:
        runtime = slot.runtimes.get(p)
        if runtime is None:
            runtime = slot.runtimes[p] = PluginRuntime(
                slot.definition.name, slot.program, self.clock
            )
            self._restore(runtime, slot.definition, p)
        return runtime

    def _restore(self, runtime: PluginRuntime, d: PluginDefinition, p: int) -> None:
        saved = self._saved.pop((d.name, p), None)
        whole = self._whole.pop((d.name, p), None)
        state = saved or whole
        if state is None or state.fingerprint != state_fingerprint(d):
            return
        try:
            runtime.restore(state.snapshot)
        except KapacitorError as e:
            log.error("plugin %s: saved state not restored, starting afresh: %s", d.name, e)
            return
        if saved is None:  # a whole plugin's: keep this partition's instances
            n = self.partitions
            runtime.retain(lambda key: partition_of(d.name, key, n) == p)
        log.debug("plugin %s: restored %d instance(s)", d.name, runtime.instance_count)

    # -- batches and timers ------------------------------------------------------------------

    def process(self, plugin: str, batch: PointBatch, partition: int = 0) -> list[AlertEvent]:
        """Run a batch of one partition's instances through the plugin's runtime."""
        result = self._process(plugin, batch, partition)
        return result.events if result is not None else []

    def _process(self, plugin: str, batch: PointBatch, partition: int) -> ProcessResult | None:
        slot = self.slots.get(plugin)
        if slot is None:
            return None
        stats = self._counters(plugin, partition)
        stats.revision = slot.definition.revision
        runtime = self._runtime(slot, partition)
        if slot.limit:
            held = sum(rt.instance_count for rt in slot.runtimes.values())
            runtime.max_instances = runtime.instance_count + max(0, slot.limit - held)
        try:
            keys, idx, tags = slot.instances.resolve(batch)
            result = runtime.process(batch, idx, keys, tags)
        except KapacitorError as e:
            stats.errors += 1
            stats.last_error = str(e)
            return None
        self._changed.add(partition)
        if self._outputs is not None and result.outputs:
            self._outputs.extend((plugin, partition, o) for o in result.outputs)
        stats.instances = runtime.instance_count
        if result.refused:
            stats.points_refused += result.refused
            stats.last_error = (
                f"instance limit {slot.limit} reached: refused "
                f"{result.refused} point(s) of new instances"
            )
        stats.points_processed += len(batch)
        stats.points_skipped += result.skipped
        stats.alerts_fired += sum(1 for e in result.events if e.level != "OK")
        count_template_errors(stats, result.events)
        if len(batch):
            stats.last_point_time = max(stats.last_point_time, int(batch.time.max()))
        return result

    def take_outputs(self) -> list[tuple[str, int, Output]]:
        """What the outputs wrote since the last call: (plugin, partition, output)."""
        if not self._outputs:
            return []
        taken, self._outputs = self._outputs, []
        return taken

    def process_joined(
        self, plugin: str, batches: Sequence[PointBatch], max_rows: int, partition: int = 0
    ) -> list[AlertEvent]:
        """`process` of consecutive `batches` (in order), joined up to `max_rows` rows a call:
        an engine call costs about the same whatever its size. Joining keeps each instance's
        rows in order as long as `batches` are in the order their instances' rows were sent."""
        return [
            e for found in self.process_sources(plugin, batches, max_rows, partition) for e in found
        ]

    def process_sources(
        self, plugin: str, batches: Sequence[PointBatch], max_rows: int, partition: int = 0
    ) -> list[list[AlertEvent]]:
        """`process_joined`, with the events of each of `batches` apart (the events its rows
        caused): what a batch causes does not depend on how it was joined."""
        out: list[list[AlertEvent]] = [[] for _ in batches]
        for start, end in joinable_runs(batches, max_rows):
            result = self._process(plugin, concat_batches(batches[start:end]), partition)
            if result is None or not result.events:
                continue
            ends = np.cumsum([len(b) for b in batches[start:end]])
            sources = np.searchsorted(ends, result.rows, side="right").tolist()
            for event, source in zip(result.events, sources, strict=True):
                out[start + source].append(event)
        return out

    def raised(self) -> list[RaisedAlert]:
        """Every alert not OK in the partitions open here."""
        return [
            alert
            for slot in self.slots.values()
            for runtime in slot.runtimes.values()
            for alert in runtime.raised()
        ]

    def inhibitors(self) -> dict[tuple[str, int], list[tuple[str, dict[str, str]]]]:
        """The raised inhibitors (PluginRuntime.inhibitors) of each plugin that inhibits, by
        (plugin, partition) open here."""
        return {
            (name, p): runtime.inhibitors()
            for name, slot in self.slots.items()
            if slot.program.inhibits
            for p, runtime in slot.runtimes.items()
        }

    def inhibiting(self) -> set[str]:
        """The plugins whose program inhibits."""
        return {name for name, slot in self.slots.items() if slot.program.inhibits}

    def tick(self, now_ns: int) -> list[tuple[str, list[AlertEvent]]]:
        """Run every runtime's due deadman() checks at clock time `now_ns` (the service calls
        this every second) and expire silent instances; (plugin, events) for the plugins that
        produced events."""
        out = []
        for name, slot in self.slots.items():
            found: list[AlertEvent] = []
            for p, runtime in slot.runtimes.items():
                stats = self._stats.get((name, p))
                if stats is None:
                    stats = self._counters(name, p)
                gone, events = (
                    runtime.expire_with_events(slot.expire_ns) if slot.expire_ns > 0 else (0, [])
                )
                try:
                    events += runtime.on_timer(now_ns)
                except KapacitorError as e:
                    stats = self._counters(name, p)
                    stats.errors += 1
                    stats.last_error = str(e)
                size = runtime.state_bytes()
                if gone or events or size != stats.state_bytes:
                    stats = self._counters(name, p)
                    stats.instances_expired += gone
                    stats.instances = runtime.instance_count
                    stats.state_bytes = size
                    stats.alerts_fired += sum(1 for e in events if e.level != "OK")
                if gone or events:
                    self._changed.add(p)
                found += events
            if found:
                out.append((name, found))
        return out


def count_template_errors(stats: PluginStats, events: Sequence[AlertEvent]) -> None:
    """Count the events whose message could not be filled in (they were sent with it as
    written), name the last one and log the first of every thousand; the plugin carries
    on."""
    for e in events:
        if e.template_error:
            stats.template_errors += 1
            stats.last_error = e.template_error
            if stats.template_errors % TEMPLATE_ERRORS_LOGGED_EVERY == 1:
                log.warning(
                    "plugin %s: %s (sent as written; %d so far)",
                    stats.plugin,
                    e.template_error,
                    stats.template_errors,
                )
