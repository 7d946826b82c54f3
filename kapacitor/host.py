"""The interpreter's domain: one runtime per enabled plugin, rebuilt when its definition changes,
fed with matched batches. No I/O: the service delivers the events and publishes the counters."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kapacitor.clock import Clock
from kapacitor.dsl.compile import compile_script
from kapacitor.engine import AlertEvent, PluginRuntime, build_program
from kapacitor.errors import KapacitorError
from kapacitor.match.router import InstanceResolver
from kapacitor.model import PointBatch, concat_batches, joinable_runs
from kapacitor.plugins import PluginDefinition, PluginStats, expire_ns, state_fingerprint

log = logging.getLogger("kapacitor.interpreter")


@dataclass
class Slot:
    definition: PluginDefinition
    runtime: PluginRuntime
    instances: InstanceResolver
    stats: PluginStats
    dirty: bool = True
    webhook: str = ""
    extra: dict[str, int] = field(default_factory=dict)
    state_changed: bool = False  # since the last state_changes()
    expire_ns: int = 0  # forget instances silent this long; 0: never


class PluginHost:
    def __init__(
        self, clock: Clock, default_expire_ns: int = 0, default_max_instances: int = 0
    ) -> None:
        self.clock = clock
        self.default_expire_ns = default_expire_ns  # for plugins without --expire; 0: never
        self.default_max_instances = default_max_instances  # 0: no limit
        self.slots: dict[str, Slot] = {}
        self.stats: dict[str, PluginStats] = {}
        # Saved state to restore when a plugin is loaded: name -> (fingerprint, snapshot).
        self.saved: dict[str, tuple[str, bytes]] = {}

    def sync(self, definitions: Iterable[PluginDefinition]) -> list[str]:
        """Load new or re-defined enabled plugins; drop disabled and deleted ones.

        Returns the plugins whose state ended (dropped or re-defined): their saved state no
        longer applies. A loaded plugin with saved state of the same definition restores it.
        """
        definitions = list(definitions)
        known = {d.name for d in definitions}
        for name in list(self.stats):
            if name not in known:  # deleted: a plugin defined again later counts from zero
                del self.stats[name]
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
            stats = self.stats.setdefault(name, PluginStats(plugin=name))
            try:
                program = build_program(compile_script(d.script))
                idle = expire_ns(d.expire) or self.default_expire_ns
            except KapacitorError as e:
                stats.errors += 1
                stats.last_error = f"cannot load: {e}"
                log.error("plugin %s cannot be loaded: %s", name, e)
                continue
            stats.revision = d.revision
            limit = d.max_instances or self.default_max_instances
            runtime = PluginRuntime(name, program, self.clock, limit)
            if name in self.slots:
                ended.append(name)
            self._restore(runtime, d)
            self.slots[name] = Slot(
                d,
                runtime,
                InstanceResolver(tuple(d.group_by) if d.group_by else None),
                stats,
                expire_ns=idle,
            )
        return ended

    def _restore(self, runtime: PluginRuntime, d: PluginDefinition) -> None:
        saved = self.saved.pop(d.name, None)
        if saved is None or saved[0] != state_fingerprint(d):
            return
        try:
            runtime.restore(saved[1])
        except KapacitorError as e:
            log.error("plugin %s: saved state not restored, starting afresh: %s", d.name, e)
            return
        log.info("plugin %s: restored %d instance(s)", d.name, runtime.instance_count)

    def state_changes(self) -> list[tuple[str, str, bytes]]:
        """(plugin, fingerprint, snapshot) of every plugin whose state changed since the last
        call: what the service saves."""
        out = []
        for name, slot in self.slots.items():
            if slot.state_changed:
                slot.state_changed = False
                out.append((name, state_fingerprint(slot.definition), slot.runtime.snapshot()))
        return out

    def process(self, plugin: str, batch: PointBatch) -> list[AlertEvent]:
        slot = self.slots.get(plugin)
        if slot is None:
            return []
        stats = slot.stats
        try:
            keys, idx, tags = slot.instances.resolve(batch)
            result = slot.runtime.process(batch, idx, keys, tags)
        except KapacitorError as e:
            stats.errors += 1
            stats.last_error = str(e)
            slot.dirty = True
            return []
        slot.state_changed = True
        stats.instances = slot.runtime.instance_count
        if result.refused:
            stats.points_refused += result.refused
            stats.last_error = (
                f"instance limit {slot.runtime.max_instances} reached: refused "
                f"{result.refused} point(s) of new instances"
            )
        stats.points_processed += len(batch)
        stats.points_skipped += result.skipped
        stats.alerts_fired += sum(1 for e in result.events if e.level != "OK")
        if len(batch):
            stats.last_point_time = int(batch.time.max())
        slot.dirty = True
        return result.events

    def process_joined(
        self, plugin: str, batches: Sequence[PointBatch], max_rows: int
    ) -> list[AlertEvent]:
        """`process` of consecutive `batches` (in order), joined up to `max_rows` rows a call:
        an engine call costs about the same whatever its size. Joining keeps each instance's
        rows in order as long as `batches` are in the order their instances' rows were sent."""
        events: list[AlertEvent] = []
        for start, end in joinable_runs(batches, max_rows):
            events += self.process(plugin, concat_batches(batches[start:end]))
        return events

    def tick(self, now_ns: int) -> list[tuple[str, list[AlertEvent]]]:
        """Run every runtime's due deadman() checks at clock time `now_ns` (the service calls
        this every second) and expire silent instances; (plugin, events) for the plugins that
        produced events."""
        out = []
        for name, slot in self.slots.items():
            self._expire(slot)
            size = slot.runtime.state_bytes()
            if size != slot.stats.state_bytes:
                slot.stats.state_bytes = size
                slot.dirty = True
            try:
                events = slot.runtime.on_timer(now_ns)
            except KapacitorError as e:
                slot.stats.errors += 1
                slot.stats.last_error = str(e)
                slot.dirty = True
                continue
            if events:
                slot.state_changed = True
                slot.stats.alerts_fired += sum(1 for e in events if e.level != "OK")
                slot.dirty = True
                out.append((name, events))
        return out

    def _expire(self, slot: Slot) -> None:
        if slot.expire_ns <= 0:
            return
        gone = slot.runtime.expire(slot.expire_ns)
        if gone:
            slot.stats.instances_expired += gone
            slot.stats.instances = slot.runtime.instance_count
            slot.dirty = slot.state_changed = True

    def take_dirty(self) -> list[PluginStats]:
        out = []
        for slot in self.slots.values():
            if slot.dirty:
                slot.dirty = False
                out.append(slot.stats)
        return out
