"""The topic handlers, run by the member holding the notifier lease: one worker per handler,
each reading its own durable ALERTS consumer (kapacitor.bus.handler_store), so a slow or
failing receiver holds up only its own handler, and what it has not acknowledged is delivered
after a restart or by the next lease holder.

A worker more than `alert.handler-backlog` events behind its topic skips what it is behind
on, counting it as dropped (logged at most every DROP_LOG_INTERVAL_S), until it has caught
up: a receiver that was down for an hour gets the recent events, not an hour of old ones.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import msgspec

from kapacitor.alerting.dispatch import deliver, retry_budget_s
from kapacitor.alerting.document import read_events
from kapacitor.alerting.event_match import EventMatch
from kapacitor.alerting.kinds.base import Event, Sender
from kapacitor.alerting.topic_handlers import HandlerStats, TopicHandler
from kapacitor.bus import subjects
from kapacitor.bus.client import NatsBus
from kapacitor.bus.handler_store import HANDLER_MAX_PENDING, HandlerStore
from kapacitor.bus.interface import Delivery
from kapacitor.clock import Clock
from kapacitor.config import ACK_WAIT_FLOOR_S, Config
from kapacitor.errors import BusError, CodecError
from kapacitor.tasks import cancel_and_wait

log = logging.getLogger("kapacitor.handlers")

FETCH = 16
RETRY_S = 0.5
DROP_LOG_INTERVAL_S = 10.0
Key = tuple[str, str]  # (topic, handler id)


@dataclass
class Worker:
    spec: TopicHandler
    stats: HandlerStats
    task: asyncio.Task[None] | None = None
    published: bytes = b""  # the counters as last published
    dropped_logged_ns: int = field(default=0)


class TopicHandlers:
    def __init__(self, cfg: Config, bus: NatsBus, store: HandlerStore, clock: Clock) -> None:
        self.cfg = cfg
        self.bus = bus
        self.store = store
        self.clock = clock
        self.workers: dict[Key, Worker] = {}

    async def run(self) -> None:
        """Follow the definitions and publish counters, until cancelled."""
        publisher = asyncio.create_task(self._publish_forever())
        try:
            await self.store.watch(self._changed)
        finally:
            await cancel_and_wait(publisher)
            await self._stop_all()

    async def _changed(self, specs: dict[Key, TopicHandler]) -> None:
        for key, w in list(self.workers.items()):
            if specs.get(key) != w.spec:
                del self.workers[key]
                await cancel_and_wait(w.task)
                if key not in specs:
                    # A worker cancelled between a failure and its retry may have re-created
                    # the consumer of a handler deleted meanwhile.
                    await self._delete_consumer(key)
        for key, spec in specs.items():
            if key not in self.workers:
                old = await self.store.stats(*key)
                w = Worker(spec, old)
                w.task = asyncio.create_task(self._work(w))
                self.workers[key] = w
                log.info("topic handler %s/%s (%s): running", spec.topic, spec.id, spec.kind)

    async def _delete_consumer(self, key: Key) -> None:
        try:
            await self.bus.delete_consumer(subjects.ALERTS_STREAM, subjects.handler_consumer(*key))
        except BusError as e:
            log.warning("deleting the consumer of handler %s/%s: %s", *key, e)

    async def _work(self, w: Worker) -> None:
        spec = w.spec
        options = spec.parsed_options()
        from kapacitor.alerting.kinds.registry import KINDS  # see registry's docstring

        sender: Sender = KINDS[spec.kind].sender(options, self.cfg)
        match = EventMatch(spec.match)
        backoff = self.cfg.alert.handler_backoff.seconds
        budget = retry_budget_s(options.retries, options.timeout_s, backoff)
        try:
            while True:
                try:
                    puller = await self.bus.take_over_consumer(
                        subjects.ALERTS_STREAM,
                        subjects.handler_consumer(spec.topic, spec.id),
                        subjects.topic_alerts(spec.topic),
                        # an event's every attempt fits before the server sends it again
                        ack_wait=max(ACK_WAIT_FLOOR_S, budget + ACK_WAIT_FLOOR_S),
                        max_pending=HANDLER_MAX_PENDING,
                        ack_all=True,
                    )
                    try:
                        while True:
                            for msg in await puller.fetch(FETCH):
                                await self._handle(w, msg, sender, match, backoff, options.retries)
                                await msg.ack_sync()
                    finally:
                        await puller.close()
                except BusError as e:
                    log.warning("topic handler %s/%s: %s; trying again", spec.topic, spec.id, e)
                    await asyncio.sleep(RETRY_S)
                except Exception:  # loop boundary: a bug must not end the handler for good
                    log.exception("topic handler %s/%s failed; starting again", *_name(w))
                    await asyncio.sleep(RETRY_S)
        finally:
            await sender.close()

    async def _handle(
        self,
        w: Worker,
        msg: Delivery,
        sender: Sender,
        match: EventMatch,
        backoff: float,
        retries: int,
    ) -> None:
        try:
            events = read_events(msg.data, msg.header(subjects.H_EVENT_IDS))
        except CodecError as e:
            log.error("topic handler %s/%s: unreadable events %s: %s", *_name(w), msg.sequence, e)
            return
        if msg.pending > self.cfg.alert.handler_backlog:
            w.stats.dropped += len(events)
            now = self.clock.monotonic_ns()
            if now - w.dropped_logged_ns >= DROP_LOG_INTERVAL_S * 1e9:
                w.dropped_logged_ns = now
                log.warning(
                    "topic handler %s/%s is %d events behind: dropping (%d so far)",
                    *_name(w),
                    msg.pending,
                    w.stats.dropped,
                )
            return
        wanted = match.matches([doc for _, _, doc in events])
        for (event_id, data, doc), chosen in zip(events, wanted, strict=True):
            if not chosen:
                w.stats.skipped += 1
                continue
            if doc.get("suppressed"):
                w.stats.suppressed += 1
                continue
            await deliver(
                sender, Event(event_id, data, doc), w.stats, retries=retries, backoff=backoff
            )

    async def _publish_forever(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.interpreter.stats_interval.seconds)
            await self.publish()

    async def publish(self) -> None:
        """Store the counters of every handler whose counters changed."""
        for w in list(self.workers.values()):
            encoded = msgspec.json.encode(w.stats)
            if encoded == w.published:
                continue
            try:
                await self.store.put_stats(w.stats)
                w.published = encoded
            except BusError as e:
                log.warning("topic handler %s/%s: counters not stored: %s", *_name(w), e)

    async def _stop_all(self) -> None:
        workers, self.workers = list(self.workers.values()), {}
        await cancel_and_wait(*(w.task for w in workers))
        for w in workers:
            try:
                await self.store.put_stats(w.stats)
            except BusError as e:
                log.warning("topic handler %s/%s: counters not stored: %s", *_name(w), e)


def _name(w: Worker) -> tuple[str, str]:
    return w.spec.topic, w.spec.id
