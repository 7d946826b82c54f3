"""Running scheduled plugins' ticks (kapacitor.schedule): a plugin's ticks are run by the
interpreter owning partition crc32(plugin) mod P, so each tick queries InfluxDB once however
many interpreters run, and the queries spread over them as the plugins do (the partition's
lease decides, as it does for the partition's points).

A tick queries its range, splits the answer's series by instance partition like the matcher
does and stores them in the MATCHED stream (ids of the tick and partition: a tick run again
after a failover is stored once), where the owners of those partitions run them through the
plugin as they run stream points. A plugin's ticks run one after another, never overlapping
(the catch-up rule in kapacitor.schedule.timing says what a slow query or a restart skips).
Failures (InfluxDB down, slow, refusing the credentials or the query) are counted, logged
and shown as the plugin's last_error; the next tick tries again."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import msgspec

from kapacitor.alerting.document import rfc3339
from kapacitor.bus import subjects
from kapacitor.bus.client import NatsBus
from kapacitor.bus.interface import Stored
from kapacitor.bus.plugin_store import StatsStore
from kapacitor.bus.schedule_store import LastTick, ScheduleStore
from kapacitor.clock import Clock
from kapacitor.cluster.member import Member
from kapacitor.config import STORE_ACK_TIMEOUT_S, Config
from kapacitor.errors import KapacitorError
from kapacitor.influx.cluster import InfluxCluster
from kapacitor.match.partition import Partitioner, partition_of
from kapacitor.model import encode_batch
from kapacitor.model.batch import concat_batches
from kapacitor.plugins import PluginDefinition, PluginStats
from kapacitor.plugins.model import state_fingerprint
from kapacitor.schedule import Schedule, schedule_of
from kapacitor.schedule.ticks import tick_batches
from kapacitor.tasks import cancel_and_wait, cancel_soon

log = logging.getLogger("kapacitor.scheduler")

STATS_PART = "scheduler"  # the key of the scheduler's counters of a plugin: <plugin>.scheduler
NS = 1_000_000_000
RETRY_S = 1.0


def tick_msg_id(plugin: str, definition: str, tick_ns: int, partition: int) -> str:
    return f"tick.{subjects.token(plugin)}.{definition}.{tick_ns}.{partition}"


@dataclass(frozen=True, slots=True)
class TickContext:
    """What running ticks needs of the interpreter process."""

    cfg: Config
    bus: NatsBus
    clock: Clock
    ticks: ScheduleStore
    stats_store: StatsStore


class PluginTicks:
    """One scheduled plugin's ticks, run by the owner of its scheduler partition."""

    def __init__(self, d: PluginDefinition, ctx: TickContext) -> None:
        self.d = d
        self.ctx = ctx
        self.definition = state_fingerprint(d)
        self.schedule: Schedule = schedule_of(d.every, d.cron, d.period, d.offset)
        self.partitioner = Partitioner(d.name, None, ctx.cfg.cluster.partitions)
        self.stats = PluginStats(plugin=d.name)

    async def run(self) -> None:
        while True:
            try:
                await self._run()
                return
            except KapacitorError as e:  # the bus failing: say so, and start over
                log.warning("plugin %s: ticks stopped (%s); starting again", self.d.name, e)
            except Exception as e:  # the task's boundary: a bug must not end its ticks
                log.exception("plugin %s: ticks failed; starting again", self.d.name)
                await self._failed(0, e)
            await asyncio.sleep(RETRY_S)

    async def _run(self) -> None:
        d = self.d
        found = await self.ctx.stats_store.get_part(STATS_PART, d.name)
        if found is not None:  # counters are totals: go on from what was counted
            self.stats = msgspec.structs.replace(found, plugin=d.name)
        try:
            cluster = self.ctx.cfg.influxdb_cluster(d.cluster)
        except KapacitorError as e:
            await self._failed(0, e)
            return  # until the plugin is re-defined or the config changes
        async with InfluxCluster(cluster) as influx:
            last = await self.ctx.ticks.last(d.name)
            done = last.tick if last is not None and last.definition == self.definition else 0
            while True:
                now = self.ctx.clock.now_ns()
                due, skipped = self.schedule.due(done, now)
                if due is None:
                    due = self.schedule.next_tick(max(now, done))
                    await asyncio.sleep((due - now) / NS)
                elif skipped:
                    self.stats.ticks_skipped += skipped
                    log.warning(
                        "plugin %s: %d tick(s) missed, running the latest (%s) only",
                        d.name,
                        skipped,
                        rfc3339(due),
                    )
                await self._tick(influx, due)
                done = due

    async def _tick(self, influx: InfluxCluster, tick: int) -> None:
        d = self.d
        self.stats.queries += 1
        self.stats.last_tick = tick
        try:
            batches = await tick_batches(influx, d, self.schedule, tick)
            if batches:
                parts = self.partitioner.split(concat_batches(batches))
                await self.ctx.bus.store_all(
                    [
                        Stored(
                            subjects.matched_points(p, d.name),
                            encode_batch(batch),
                            tick_msg_id(d.name, self.definition, tick, p),
                        )
                        for p, batch in sorted(parts.items())
                    ],
                    stream=subjects.MATCHED_STREAM,
                    timeout=STORE_ACK_TIMEOUT_S,
                )
        except KapacitorError as e:
            await self._failed(tick, e)
        else:
            await self._put(tick)

    async def _failed(self, tick: int, e: Exception) -> None:
        self.stats.query_errors += 1
        when = f"tick {rfc3339(tick)}: " if tick else ""
        self.stats.last_error = f"{when}{e}"
        log.error("plugin %s: %s%s", self.d.name, when, e)
        await self._put(tick)

    async def _put(self, tick: int) -> None:
        try:
            if tick:
                await self.ctx.ticks.put(self.d.name, LastTick(tick, self.definition))
            await self.ctx.stats_store.put(STATS_PART, self.stats)
        except KapacitorError as e:  # the tick ran; a failover may run it again (stored once)
            log.warning("plugin %s: cannot record tick %s: %s", self.d.name, tick, e)


class Scheduler:
    """The ticks of the scheduled plugins whose partition the interpreter owns."""

    def __init__(self, ctx: TickContext) -> None:
        self.ctx = ctx
        self.member: Member | None = None
        self.definitions: dict[str, PluginDefinition] = {}
        self.running: dict[str, tuple[str, asyncio.Task[None]]] = {}  # by plugin: definition
        self._follow: asyncio.Task[None] | None = None

    def partition(self, plugin: str) -> int:
        return partition_of(plugin, "", self.ctx.cfg.cluster.partitions)

    def follow(self, member: Member) -> None:
        """Run the ticks of the plugins of the partitions `member` owns, as they come and go."""
        self.member = member
        self._follow = asyncio.create_task(self._changes(member))

    async def _changes(self, member: Member) -> None:
        async for _ in member.changes():
            self._reconcile()

    def set_definitions(self, defs: dict[str, PluginDefinition]) -> None:
        self.definitions = {n: d for n, d in defs.items() if d.enabled and d.scheduled}
        self._reconcile()

    def _reconcile(self) -> None:
        owned = self.member.owned() if self.member is not None else frozenset()
        for name, (definition, task) in list(self.running.items()):
            d = self.definitions.get(name)
            if d is None or state_fingerprint(d) != definition or self.partition(name) not in owned:
                cancel_soon(task)
                del self.running[name]
        for name, d in self.definitions.items():
            if name not in self.running and self.partition(name) in owned:
                ticks = PluginTicks(d, self.ctx)
                task = asyncio.create_task(ticks.run(), name=f"ticks {name}")
                self.running[name] = (state_fingerprint(d), task)

    async def release(self, p: int) -> None:
        """Stop the ticks of partition `p` before its lease goes to another member."""
        stopping = [n for n in self.running if self.partition(n) == p]
        await cancel_and_wait(*(self.running.pop(n)[1] for n in stopping))

    async def stop(self) -> None:
        tasks = [task for _, task in self.running.values()]
        self.running.clear()
        await cancel_and_wait(self._follow, *tasks)
