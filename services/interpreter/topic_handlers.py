"""The topic handlers, run by the member holding the notifier lease: one worker per handler,
each reading its own durable ALERTS consumer (kapacitor.bus.handler_store), so a slow or
failing receiver holds up only its own handler, and what it has not acknowledged is delivered
after a restart or by the next lease holder.

A worker more than `alert.handler-backlog` messages behind its topic skips what it is behind
on, counting its events as dropped (logged at most every DROP_LOG_INTERVAL_S), until it has
caught up: a receiver that was down for an hour gets the recent events, not an hour of old
ones. A worker held up by one fetch for so long that the stream's own limit (`alert.keep`)
removed messages it had not read counts that as an overrun, and logs it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import msgspec

from kapacitor.alerting.dispatch import deliver, retry_budget_s, wanted
from kapacitor.alerting.document import events_message, read_events
from kapacitor.alerting.event_match import EventMatch
from kapacitor.alerting.kinds.base import Event, Sender
from kapacitor.alerting.topic_handlers import HandlerStats, TopicHandler, check_handler
from kapacitor.alerting.webhooks import SERVER_WEBHOOK, plugin_webhook, server_webhook
from kapacitor.bus import subjects
from kapacitor.bus.client import NatsBus
from kapacitor.bus.handler_store import HANDLER_MAX_PENDING, HandlerStore
from kapacitor.bus.interface import Delivery, Puller, Stored
from kapacitor.bus.plugin_store import PluginStore
from kapacitor.clock import Clock
from kapacitor.config import ACK_WAIT_FLOOR_S, STORE_ACK_TIMEOUT_S, Config
from kapacitor.errors import BusError, CodecError, RequestError
from kapacitor.tasks import cancel_and_wait

if TYPE_CHECKING:
    from kapacitor.alerting.kinds.aggregate import AggregateOptions

log = logging.getLogger("kapacitor.handlers")

FETCH = 16
AGGREGATE_MAX_PENDING = 10_000  # messages an aggregate handler holds over one interval
RETRY_S = 0.5
DROP_LOG_INTERVAL_S = 10.0
# A handler busy with one fetch for this long checks, on its next read, whether the stream's
# limit removed what it had not read yet; one busy for less cannot fall that far behind.
OVERRUN_CHECK_S = 1.0
Key = tuple[str, str]  # (topic, handler id)


@dataclass
class Worker:
    spec: TopicHandler
    stats: HandlerStats
    task: asyncio.Task[None] | None = None
    published: bytes = b""  # the counters as last published
    dropped_logged_ns: int = field(default=0)


class TopicHandlers:
    def __init__(
        self, cfg: Config, bus: NatsBus, store: HandlerStore, plugins: PluginStore, clock: Clock
    ) -> None:
        self.cfg = cfg
        self.bus = bus
        self.store = store
        self.plugins = plugins
        self.clock = clock
        self.workers: dict[Key, Worker] = {}

    async def run(self) -> None:
        """Keep the server's webhook as the config says, follow the definitions and publish
        counters, until cancelled."""
        publisher = asyncio.create_task(self._publish_forever())
        try:
            await self.keep_webhooks()
            await self.store.watch(self._changed)
        finally:
            await cancel_and_wait(publisher)
            await self._stop_all()

    async def keep_webhooks(self) -> None:
        """Define the webhooks no request defines: the server's, as its config says, and those
        of plugins defined before webhooks were handlers."""
        await self._keep_server_webhook()
        await self._adopt_webhooks()

    async def _keep_server_webhook(self) -> None:
        """Define the handler of `[alert] webhook-url` (kapacitor.alerting.webhooks), or delete
        it when the setting is gone."""
        url, timeout = self.cfg.alert.webhook_url, str(self.cfg.alert.webhook_timeout)
        while True:
            try:
                old = await self.store.find(subjects.EVERY_TOPIC, SERVER_WEBHOOK)
                new = server_webhook(url, timeout) if url else None
                if new is not None and old != new:
                    check_handler(msgspec.to_builtins(new), named=False)
                    await self.store.define(new)
                elif not url and old is not None:
                    await self.store.delete(subjects.EVERY_TOPIC, SERVER_WEBHOOK)
                return
            except RequestError as e:
                log.error("[alert] webhook-url: %s; no webhook", e)
                return
            except BusError as e:
                log.warning("the server's webhook: %s; trying again", e)
                await asyncio.sleep(RETRY_S)

    async def _adopt_webhooks(self) -> None:
        """Give a plugin defined with --webhook before webhooks were handlers its handler (a
        definition since makes it with the plugin: kapacitor.plugins.attached)."""
        timeout = str(self.cfg.alert.webhook_timeout)
        try:
            for d in await self.plugins.list():
                spec = plugin_webhook(d.name, d.webhook, timeout) if d.webhook else None
                if spec is not None and await self.store.find(spec.topic, spec.id) is None:
                    await self.store.define(spec)
                    log.info("plugin %s: its --webhook is now handler */%s", d.name, spec.id)
        except BusError as e:
            log.warning("plugins' webhooks not adopted: %s", e)

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
        # late: the kinds are imported only where handlers run (see registry's docstring)
        from kapacitor.alerting.kinds.aggregate import AggregateOptions
        from kapacitor.alerting.kinds.registry import KINDS

        match = EventMatch(spec.match)
        if isinstance(options, AggregateOptions):
            wait = options.interval_s + 2 * ACK_WAIT_FLOOR_S  # held until the interval ends
            await self._consume(
                w, wait, AGGREGATE_MAX_PENDING, lambda p: self._aggregate(w, p, options, match)
            )
            return
        sender: Sender = KINDS[spec.kind].sender(options, self.cfg)
        backoff = self.cfg.alert.handler_backoff.seconds
        budget = retry_budget_s(options.retries, options.timeout_s, backoff)

        async def each(puller: Puller) -> None:
            last_seq, busy_ns = 0, 0
            while True:
                got = await puller.fetch(FETCH)
                # Waiting in fetch, a handler reads each message as it comes: only one busy
                # with a fetch for long can have had messages removed before it read them.
                if got and busy_ns >= OVERRUN_CHECK_S * 1e9 and got[0].sequence > last_seq + 1:
                    await self._check_overrun(w, last_seq, busy_ns)
                read_at = self.clock.monotonic_ns()
                for msg in got:
                    for event in self._wanted(w, msg, match, drop_behind=True):
                        await deliver(
                            sender, event, w.stats, retries=options.retries, backoff=backoff
                        )
                    await msg.ack_sync()
                    last_seq = msg.sequence
                busy_ns = self.clock.monotonic_ns() - read_at

        try:
            # an event's every attempt fits before the server sends it again
            await self._consume(w, budget + ACK_WAIT_FLOOR_S, HANDLER_MAX_PENDING, each)
        finally:
            await sender.close()

    async def _consume(
        self,
        w: Worker,
        ack_wait: float,
        max_pending: int,
        run: Callable[[Puller], Awaitable[None]],
    ) -> None:
        """`run` over the handler's consumer, bound afresh after any failure, forever."""
        spec = w.spec
        while True:
            try:
                puller = await self.bus.take_over_consumer(
                    subjects.ALERTS_STREAM,
                    subjects.handler_consumer(spec.topic, spec.id),
                    subjects.handler_events(spec.topic, spec.plugin),
                    ack_wait=max(ACK_WAIT_FLOOR_S, ack_wait),
                    max_pending=max_pending,
                    ack_all=True,
                )
                try:
                    await run(puller)
                finally:
                    await puller.close()
            except BusError as e:
                log.warning("topic handler %s/%s: %s; trying again", spec.topic, spec.id, e)
                await asyncio.sleep(RETRY_S)
            except Exception:  # loop boundary: a bug must not end the handler for good
                log.exception("topic handler %s/%s failed; starting again", *_name(w))
                await asyncio.sleep(RETRY_S)

    async def _check_overrun(self, w: Worker, last_seq: int, busy_ns: int) -> None:
        """Count and log it when the stream's limit (alert.keep) removed messages after
        `last_seq`, the last one the handler read, while it was busy: events of its topic
        among them, if any, were never sent (removed unread, they are not known one by one:
        the messages may as well all have been of other topics)."""
        try:
            first = await self.bus.first_sequence(subjects.ALERTS_STREAM)
        except BusError as e:
            log.warning("topic handler %s/%s: %s", *_name(w), e)
            return
        if first > last_seq + 1:
            w.stats.overrun += 1
            w.stats.last_error = (
                f"the alert stream removed messages {last_seq + 1}-{first - 1} while the "
                f"handler was busy for {busy_ns / 1e9:.1f} s (alert.keep): events of its topic "
                "among them were not sent"
            )
            log.error("topic handler %s/%s: %s", *_name(w), w.stats.last_error)

    async def _aggregate(
        self, w: Worker, puller: Puller, options: AggregateOptions, match: EventMatch
    ) -> None:
        """Sum up the events of each interval into one event stored in the options' topic,
        then acknowledge them all (kapacitor.alerting.kinds.aggregate)."""
        from kapacitor.alerting.kinds.aggregate import PLUGIN, Aggregation

        loop = asyncio.get_running_loop()
        spec = w.spec
        while True:
            summed, last = Aggregation(), None
            due = loop.time() + options.interval_s
            while loop.time() < due:
                for msg in await puller.fetch(FETCH):
                    last = msg
                    for chosen in self._wanted(w, msg, match, drop_behind=False):
                        summed.add(chosen.doc)
            if last is None:
                continue
            if summed.count:
                event = summed.event(options, spec.topic, spec.id)
                msg_id = (
                    f"agg.{subjects.token(spec.topic)}.{subjects.token(spec.id)}.{last.sequence}"
                )
                data, ids = events_message([event], msg_id)
                stored = Stored(
                    subjects.plugin_alerts(PLUGIN, options.topic),
                    data,
                    msg_id,
                    {subjects.H_EVENT_IDS: ids},
                )
                await self.bus.store_all(
                    [stored], stream=subjects.ALERTS_STREAM, timeout=STORE_ACK_TIMEOUT_S
                )
                w.stats.sent += 1
            await last.ack_sync()

    def _wanted(
        self, w: Worker, msg: Delivery, match: EventMatch, *, drop_behind: bool
    ) -> list[Event]:
        """The events of `msg` the handler sends: those its match selects and nothing
        suppressed; none when `drop_behind` and the handler is too far behind (counted)."""
        ids = msg.header(subjects.H_EVENT_IDS)
        if drop_behind and msg.pending > self.cfg.alert.handler_backlog:
            # counted from the header: a handler that is behind does not decode what it drops
            w.stats.dropped += ids.count(",") + 1 if ids else 1
            now = self.clock.monotonic_ns()
            if now - w.dropped_logged_ns >= DROP_LOG_INTERVAL_S * 1e9:
                w.dropped_logged_ns = now
                log.warning(
                    "topic handler %s/%s is %d events behind: dropping (%d so far)",
                    *_name(w),
                    msg.pending,
                    w.stats.dropped,
                )
            return []
        try:
            events = read_events(msg.data, ids)
        except CodecError as e:
            log.error("topic handler %s/%s: unreadable events %s: %s", *_name(w), msg.sequence, e)
            return []
        return wanted([Event(*e) for e in events], match, w.stats)

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
