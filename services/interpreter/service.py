"""Interpreter: owns a share of the partitions (docs/cluster.md) and runs their matched batches
from the MATCHED stream through each plugin's runtime; alert events to the ALERTS stream (the
notifier, services/interpreter/notifier.py, delivers them); counters to the stats bucket.

A message is acknowledged only once a saved partition state covers it, so a partition that
moves (a clean hand-over, or its owner killed) resumes on its new owner from that state and
the messages after it, as if one interpreter had never stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from kapacitor.alerting.current import encode_raised
from kapacitor.alerting.document import event_id, events_message
from kapacitor.alerting.silences import ActiveSilences, Silence
from kapacitor.bus import subjects
from kapacitor.bus.client import NatsBus, kv_bucket, open_bus, state_bucket
from kapacitor.bus.handler_store import HandlerStore
from kapacitor.bus.interface import Delivery, Message, Puller, Stored
from kapacitor.bus.plugin_store import PluginStore, StatsStore
from kapacitor.bus.schedule_store import ScheduleStore
from kapacitor.bus.silence_store import SilenceStore
from kapacitor.bus.state_store import Held, PartitionStore, StateStore
from kapacitor.bus.topic_store import TopicStore
from kapacitor.clock import SystemClock
from kapacitor.cluster.member import Member
from kapacitor.cluster.presence import join
from kapacitor.config import ACK_WAIT_FLOOR_S, STORE_ACK_TIMEOUT_S, Config
from kapacitor.daemon.memory import TrimSoon
from kapacitor.daemon.service import run_service
from kapacitor.engine import AlertEvent
from kapacitor.errors import BusError, KapacitorError, RevisionMismatch
from kapacitor.host import PluginHost
from kapacitor.model import PointBatch, decode_batch
from kapacitor.plugins import PluginDefinition, PluginStats
from kapacitor.plugins.state import PartitionState, StoredState
from kapacitor.tasks import cancel_and_wait
from services.interpreter.inhibitors import Inhibitors
from services.interpreter.notifier import Notifier
from services.interpreter.outputs import OutputSender
from services.interpreter.scheduler import Scheduler, TickContext
from services.interpreter.topic_handlers import TopicHandlers
from services.interpreter.topic_keeper import TopicKeeper

log = logging.getLogger("kapacitor.interpreter")

SERVICE = "interpreter"
# Delivered, unacknowledged messages a partition may hold before its state is saved early.
SAVE_AFTER_PENDING = 1_000
MAX_PENDING = 20_000  # per partition consumer: enough for SAVE_AFTER_PENDING and a slow save
TIMER_INTERVAL_S = 1.0  # deadman() checks
# Fetches a partition may have waiting to be processed: the rest waits in JetStream, not here
# (unbounded, a busy interpreter held whole backlogs in memory).
READ_AHEAD = 2
ADOPT_RETRY_S = 0.5
RETRY_S = 0.5  # between attempts to store alert events


@dataclass
class Owned:
    """A partition this interpreter runs: what its saved state covers and what waits on it."""

    held: Held  # where its state is saved
    applied: int  # the last MATCHED sequence whose effect the runtimes hold
    puller: Puller | None
    fetcher: asyncio.Task[None] | None = None
    pending: list[Delivery] = field(default_factory=list)  # acked once a save covers them
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # held while its runtimes change
    # One save at a time, its put outside `lock`: a save waiting out a stream leader election
    # must not hold up processing (points would wait on it for its whole timeout).
    saving: asyncio.Lock = field(default_factory=asyncio.Lock)
    room: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(READ_AHEAD))


def _events_stored(subject: str, events: list[AlertEvent], msg_id: str) -> Stored:
    data, ids = events_message(events, msg_id)
    return Stored(subject, data, msg_id, {subjects.H_EVENT_IDS: ids})


def _by_topic(events: list[AlertEvent]) -> list[tuple[str, list[AlertEvent]]]:
    """The events of each topic, in their order (most batches have one topic: no copy)."""
    first = events[0].topic
    if all(e.topic == first for e in events):
        return [(first, events)]
    out: dict[str, list[AlertEvent]] = {}
    for e in events:
        out.setdefault(e.topic, []).append(e)
    return list(out.items())


class Interpreter:
    """The service's loops around one PluginHost, over the bus."""

    def __init__(
        self,
        cfg: Config,
        bus: NatsBus,
        host: PluginHost,
        partitions: PartitionStore,
        legacy: StateStore,
    ) -> None:
        self.cfg = cfg
        self.bus = bus
        self.host = host
        self.partitions = partitions
        self.legacy = legacy  # state saved per plugin before partitions
        self.owned: dict[int, Owned] = {}
        # What the fetchers got, with the partition's semaphore to release once processed.
        self.queue: asyncio.Queue[tuple[int, Sequence[Delivery], asyncio.Semaphore]] = (
            asyncio.Queue()
        )
        self.definitions: dict[str, PluginDefinition] = {}
        self._legacy: dict[str, StoredState] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._save_soon = asyncio.Event()  # wakes the saver (saver())
        self.trim = TrimSoon()
        self.silences = ActiveSilences()  # kept by serve() from the silences bucket
        self.inhibitors = Inhibitors(bus.js, host, cfg.cluster.replicas)
        self.outputs = OutputSender(cfg, bus, host)
        self.member: Member  # joined once the definitions are known (serve)

    @property
    def owner(self) -> str:
        return self.member.id

    # -- ownership -----------------------------------------------------------------------------

    async def follow(self) -> None:
        """Adopt the partitions the member gains, drop those it loses: all of a change at once
        (one by one, a take-over after a NATS server died took seconds per partition, while
        the stream leaders were being elected)."""
        async for change in self.member.changes():
            await asyncio.gather(*(self.drop(p) for p in sorted(change.lost)))
            await asyncio.gather(*(self._adopt_while_owned(p) for p in sorted(change.gained)))
            self.trim()  # restoring and dropping state leaves freed heap behind

    async def _adopt_while_owned(self, p: int) -> None:
        while p in self.member.owned() and p not in self.owned:
            try:
                await self.adopt(p)
            except BusError as e:  # RevisionMismatch included: a late save of the last owner
                log.warning("partition %d: cannot take it over yet: %s", p, e)
                await asyncio.sleep(ADOPT_RETRY_S)

    async def adopt(self, p: int) -> None:
        held = await self.partitions.take(p, self.owner)
        saved = held.state
        if held.problem:
            log.error("partition %d: %s; starting it afresh", p, held.problem)
        if saved is not None:
            restored = self.host.open_partition(p, saved.plugins, stats=saved.stats)
        elif not held.obj:  # never saved: from the state saved before partitions, if any
            restored = self.host.open_partition(p, await self._legacy_state(), whole=True)
        else:
            restored = self.host.open_partition(p, {})
        if restored:
            log.info("partition %d: restored %d instance(s)", p, restored)
        owned = Owned(held, saved.seq if saved else 0, None)
        try:
            owned.puller = await self.bus.fresh_consumer(
                subjects.MATCHED_STREAM,
                subjects.partition_consumer(p),
                subjects.matched_partition(p),
                # acknowledged once a save covers it: every state interval
                ack_wait=max(ACK_WAIT_FLOOR_S, 4 * self.cfg.interpreter.state_interval.seconds),
                max_pending=MAX_PENDING,
            )
            self.owned[p] = owned
            if saved is None:  # saved at once: later take-overs need not read the legacy state
                await self._save(p, owned)
        except BaseException:
            self.owned.pop(p, None)
            self.host.close_partition(p)
            raise
        owned.fetcher = asyncio.create_task(self._fetch(p, owned.puller, owned.room))
        log.debug("partition %d: running from sequence %d", p, owned.applied)

    async def _legacy_state(self) -> dict[str, StoredState]:
        """Each plugin's state as saved before partitions, read once per process (a partition
        taken over for the first time starts from it)."""
        if self._legacy is None:
            self._legacy = {}
            for name in self.definitions:
                try:
                    state = await self.legacy.load(name)
                except KapacitorError as e:
                    log.error("plugin %s: %s; starting afresh", name, e)
                    continue
                if state is not None:
                    self._legacy[name] = state
        return self._legacy

    async def _fetch(self, p: int, puller: Puller, room: asyncio.Semaphore) -> None:
        batch = self.cfg.interpreter.fetch_batch
        wait = self.cfg.interpreter.join_wait.seconds
        while True:
            await room.acquire()
            try:
                got = await puller.fetch(batch, wait=wait)
            except BusError as e:
                room.release()
                log.warning("partition %d: %s; retrying", p, e)
                await asyncio.sleep(RETRY_S)
                continue
            except BaseException:
                room.release()
                raise
            if got:
                self.queue.put_nowait((p, got, room))
            else:
                room.release()

    async def _stop_fetching(self, owned: Owned) -> None:
        await cancel_and_wait(owned.fetcher)
        if owned.puller is not None:
            await owned.puller.close()

    async def drop(self, p: int) -> None:
        """Stop running `p` without saving (its lease is gone: someone else may run it);
        what it had not acknowledged goes to the next owner."""
        owned = self.owned.pop(p, None)
        if owned is None:
            return
        async with owned.lock:
            await self._stop_fetching(owned)
            self.host.close_partition(p)
            self.outputs.forget(p)  # the next owner writes them again

    async def wind_up(self, p: int) -> None:
        """Hand `p` over cleanly: save, acknowledge, stop (before its lease is released)."""
        owned = self.owned.get(p)
        if owned is None:
            return
        await self._stop_fetching(owned)
        await self._save(p, owned)  # after what is being processed (its lock)
        self.owned.pop(p, None)
        self.host.close_partition(p)

    # -- batches -------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Process what the partitions' fetchers deliver; save (in a task of its own, saver())
        and tick on time."""
        saver = asyncio.create_task(self.saver())
        try:
            await self._run(stop, saver)
        finally:
            await cancel_and_wait(saver)

    async def _run(self, stop: asyncio.Event, saver: asyncio.Task[None]) -> None:
        loop = asyncio.get_running_loop()
        state_every = self.cfg.interpreter.state_interval.seconds
        next_save = loop.time() + state_every
        next_tick = loop.time() + TIMER_INTERVAL_S
        while not stop.is_set():
            wait = max(0.0, min(next_save, next_tick) - loop.time())
            try:
                items = [await asyncio.wait_for(self.queue.get(), wait)]
            except TimeoutError:
                items = []
            while not self.queue.empty():
                items.append(self.queue.get_nowait())
            per_partition: dict[int, list[Delivery]] = {}
            for p, got, _ in items:
                per_partition.setdefault(p, []).extend(got)
            try:
                for p, got in per_partition.items():
                    await self._process(p, got)
            finally:
                for _, _, room in items:
                    room.release()
            now = loop.time()
            if now >= next_tick:
                next_tick = now + TIMER_INTERVAL_S
                for plugin, events in self.host.tick(self.host.clock.now_ns()):
                    await self.deliver(plugin, events)
                await self.inhibitors.publish(self.member.owned())
            if now >= next_save:
                next_save = now + state_every
                self._save_soon.set()
            if saver.done():
                saver.result()  # its failure is the service's: nothing would be acked any more

    async def _process(self, p: int, got: Sequence[Delivery]) -> None:
        owned = self.owned.get(p)
        if owned is None or p not in self.member.owned():
            return  # not ours (any more): left unacknowledged for the owner
        async with owned.lock:
            if self.owned.get(p) is not owned:
                return  # dropped or handed over while this waited
            per_plugin: dict[str, list[PointBatch]] = {}
            sources: dict[str, list[int]] = {}  # the MATCHED sequence of each batch
            for msg in got:
                if msg.sequence <= owned.applied:  # delivered again: its effect is held
                    msg.release()
                    owned.pending.append(msg)
                    continue
                plugin = subjects.plugin_from_subject(msg.subject)
                try:
                    batch = decode_batch(msg.data)
                except KapacitorError as e:
                    log.error("plugin %s: dropping message: %s", plugin, e)
                    await msg.term()
                    continue
                msg.release()  # kept until a save covers it: to be acked, not read again
                per_plugin.setdefault(plugin, []).append(batch)
                sources.setdefault(plugin, []).append(msg.sequence)
                owned.applied = msg.sequence
                owned.pending.append(msg)
            join_rows = self.cfg.interpreter.join_rows
            for plugin, batches in per_plugin.items():
                per_source = self.host.process_sources(plugin, batches, join_rows, p)
                found = [
                    (seq, events)
                    for seq, events in zip(sources[plugin], per_source, strict=True)
                    if events
                ]
                if not await self._deliver_while_owned(p, plugin, found):
                    return
            written = self.host.take_outputs()
            if written:
                self.outputs.add(written, owned.applied)
            if len(owned.pending) >= SAVE_AFTER_PENDING:
                self._save_soon.set()

    async def _deliver_while_owned(
        self, p: int, plugin: str, found: list[tuple[int, list[AlertEvent]]]
    ) -> bool:
        """Store the events, retrying while NATS cannot (a cluster electing a stream leader)
        and the partition is ours; False when it is not any more (it is dropped: its next
        owner recomputes them from the saved state)."""
        while True:
            try:
                await self.store_events(plugin, found)
                return True
            except BusError as e:
                if p not in self.member.owned():
                    self._drop_later(p)
                    return False
                log.warning("partition %d: storing alert events failed, retrying: %s", p, e)
                await asyncio.sleep(RETRY_S)

    def _drop_later(self, p: int) -> None:
        """Drop `p` once its lock is free (the caller holds it)."""
        task = asyncio.create_task(self.drop(p))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _stamped(self, events: list[AlertEvent], now_ns: int) -> list[AlertEvent]:
        """The events as stored: those a silence or an inhibitor holds back stamped so."""
        return self.inhibitors.apply(self.silences.apply(events, now_ns))

    async def store_events(self, plugin: str, found: list[tuple[int, list[AlertEvent]]]) -> None:
        """Store the events in the ALERTS stream, for the notifier and the topic handlers,
        before the points that caused them can be acknowledged: one message per MATCHED
        message (sequence) and topic, named by them, so the events a partition's new owner
        recomputes from the same message are stored once; pipelined."""
        plugin_tok = subjects.token(plugin)
        stored = []
        now = self.host.clock.now_ns()
        for seq, events in found:
            events = self._stamped(events, now)
            for topic, of_topic in _by_topic(events):
                msg_id = f"ev.{seq}.{plugin_tok}" + (f".{subjects.token(topic)}" if topic else "")
                stored.append(
                    _events_stored(subjects.plugin_alerts(plugin, topic), of_topic, msg_id)
                )
        await self.bus.store_all(stored, stream=subjects.ALERTS_STREAM, timeout=STORE_ACK_TIMEOUT_S)

    async def deliver(self, plugin: str, events: list[AlertEvent]) -> None:
        """Store events that no point caused (deadman checks), each named by its own id."""
        events = self._stamped(events, self.host.clock.now_ns())
        await self.bus.store_all(
            [
                _events_stored(subjects.plugin_alerts(plugin, e.topic), [e], event_id(e))
                for e in events
            ],
            stream=subjects.ALERTS_STREAM,
            timeout=STORE_ACK_TIMEOUT_S,
        )

    # -- state -----------------------------------------------------------------------------------

    async def saver(self) -> None:
        """Save the partitions whose state changed or that wait on a save, whenever run() asks
        (every state interval, or when a partition holds SAVE_AFTER_PENDING messages)."""
        while True:
            await self._save_soon.wait()
            self._save_soon.clear()
            if not await self.save_changed():
                await asyncio.sleep(RETRY_S)
                self._save_soon.set()

    async def save_changed(self) -> bool:
        """One round of saves; False when NATS could not save (the round stops there: the
        others would wait out the same election; they are saved in the next round)."""
        changed = self.host.take_changed()
        todo = [(p, o) for p, o in self.owned.items() if p in changed or o.pending]
        for k, (p, owned) in enumerate(todo):
            if not await self._save(p, owned):
                self.host.mark_changed(q for q, _ in todo[k:] if q in changed)
                return False
        return True

    async def _save(self, p: int, owned: Owned) -> bool:
        """Save `p`'s state, then acknowledge what it covers; False if NATS failed. The state is
        read under `owned.lock` and stored without it (locks taken in the order saving, lock)."""
        async with owned.saving:
            async with owned.lock:
                if self.owned.get(p) is not owned or p not in self.member.owned():
                    return True
                outputs = self.outputs.take(p)
                state = PartitionState(
                    owned.applied, self.host.partition_state(p), self.host.partition_stats(p)
                )
            # What the messages it covers wrote is sent before they can be acknowledged.
            await self.outputs.send(p, outputs)
            try:
                await self.partitions.save(owned.held, state, self.owner)
            except RevisionMismatch:
                log.warning("partition %d: taken over while saving; dropping it", p)
                self._drop_later(p)
                return True
            except BusError as e:
                log.warning("partition %d: saving state failed (retried later): %s", p, e)
                return False
        done = [d for d in owned.pending if d.sequence <= state.seq]
        owned.pending = [d for d in owned.pending if d.sequence > state.seq]
        for d in done:
            with contextlib.suppress(BusError):  # it comes back, and is skipped as covered
                await d.ack()
        return True


async def serve(cfg: Config, stop: asyncio.Event) -> None:
    bus = await open_bus(
        cfg.nats_url, "kapacitor-interpreter", cfg.cluster.replicas, cfg.alert.keep
    )
    js = bus.js
    store = PluginStore(await kv_bucket(js, subjects.PLUGINS_BUCKET))
    stats_store = StatsStore(js, await kv_bucket(js, subjects.STATS_BUCKET))
    clock = SystemClock()
    host = PluginHost(
        clock,
        cfg.interpreter.expire.ns,
        cfg.interpreter.max_instances,
        partitions=cfg.cluster.partitions,
        collect_outputs=True,
    )
    it = Interpreter(
        cfg, bus, host, await PartitionStore.open(js, SERVICE), StateStore(await state_bucket(js))
    )
    ready = asyncio.Event()
    ticks = ScheduleStore(await kv_bucket(js, subjects.SCHEDULE_BUCKET))
    scheduler = Scheduler(TickContext(cfg, bus, clock, ticks, stats_store))

    async def on_change(defs: dict[str, PluginDefinition]) -> None:
        for gone in set(it.definitions) - set(defs):
            it.outputs.latest.forget(gone)
        it.definitions = defs
        host.sync(defs.values())
        scheduler.set_definitions(defs)
        await it.inhibitors.follow_definitions()
        ready.set()
        it.trim()  # compiling plugins leaves freed heap behind

    async def publish_stats() -> None:
        while True:
            await asyncio.sleep(cfg.interpreter.stats_interval.seconds)
            await put_stats(host.take_dirty())

    async def put_stats(dirty: list[tuple[int, PluginStats]]) -> None:
        # All at once: one after the other, 32 partitions' puts took a round trip each.
        results = await asyncio.gather(
            *(stats_store.put(p, counted) for p, counted in dirty), return_exceptions=True
        )
        errors = [r for r in results if r is not None]
        for e in errors:
            if not isinstance(e, BusError):
                raise e
        if errors:  # the counters are totals: the next put catches up
            log.warning("publishing counters failed (retried later): %s", errors[0])
            host.mark_dirty(
                (c.plugin, p) for (p, c), r in zip(dirty, results, strict=True) if r is not None
            )

    async def on_silences(silences: dict[str, Silence]) -> None:
        it.silences.update(silences.values())

    async def on_query(msg: Message) -> None:
        """`kapacitor alerts`: the alerts not OK in the partitions held here."""
        await msg.respond(encode_raised(it.member.id, host.raised()))

    watch = asyncio.create_task(store.watch(on_change))
    silence_watch = asyncio.create_task(
        SilenceStore(await kv_bucket(js, subjects.SILENCES_BUCKET)).watch(on_silences)
    )
    await ready.wait()

    async def wind_up(p: int) -> None:
        await scheduler.release(p)
        await it.wind_up(p)

    it.member = await join(
        js,
        cfg,
        SERVICE,
        clock,
        partitions=cfg.cluster.partitions,
        before_release=wind_up,
        start=False,  # follow() must see its first change
    )
    scheduler.follow(it.member)

    handlers = TopicHandlers(
        cfg,
        bus,
        HandlerStore(
            js,
            await kv_bucket(js, subjects.TOPIC_HANDLERS_BUCKET),
            await kv_bucket(js, subjects.HANDLER_STATS_BUCKET),
        ),
        store,
        clock,
    )
    topics = TopicKeeper(bus, TopicStore(js, await kv_bucket(js, subjects.TOPICS_BUCKET)))
    notifier = Notifier(cfg, bus, it.member.id, clock, handlers, topics)
    await notifier.start()
    follow = asyncio.create_task(it.follow())
    await asyncio.sleep(0)  # follow() subscribes to the changes before the first one
    await it.member.start()
    stats_task = asyncio.create_task(publish_stats())
    sender = asyncio.create_task(it.outputs.run())
    query = await bus.subscribe(subjects.ALERTS_QUERY, on_query)
    http_out = await bus.subscribe(subjects.HTTP_OUT_QUERY, it.outputs.serve_http_out)
    log.info("interpreter ready")
    try:
        await it.run(stop)
    finally:
        # A clean stop hands every partition over with its state saved (leave() winds each
        # up before releasing it), so the next owner neither loses nor redoes anything.
        await query.unsubscribe()
        await http_out.unsubscribe()
        await scheduler.stop()
        await it.member.leave()  # each partition's outputs are sent with its last save
        await notifier.stop()
        await cancel_and_wait(follow, stats_task, sender)
        await it.outputs.close()
        await put_stats(host.take_dirty())
        await it.inhibitors.close()
        await bus.close(watch, silence_watch, stats_task, follow)


def main() -> None:
    run_service("interpreter", serve)
