"""The notifier: one per deployment (the member holding the notifier lease) takes alert events
from the ALERTS stream, where each event is stored once whatever computed it (docs/cluster.md),
and appends them to the alert log, acknowledging each fetch once it is written. Every
interpreter process is a candidate; another takes over within the lease TTL from the first
event its predecessor had not acknowledged. The lease holder also runs the topic handlers
(topic_handlers.py: the webhooks are handlers too), each from its own consumer, and keeps the
topics' state (topic_keeper.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from kapacitor.alerting.alert_log import AlertLog
from kapacitor.alerting.document import split_events
from kapacitor.bus import subjects
from kapacitor.bus.client import NatsBus
from kapacitor.bus.interface import Delivery
from kapacitor.clock import Clock
from kapacitor.cluster.member import Member, OwnershipChange
from kapacitor.cluster.presence import join
from kapacitor.config import ACK_WAIT_FLOOR_S, Config
from kapacitor.errors import BusError, CodecError
from kapacitor.tasks import cancel_and_wait, cancel_soon
from services.interpreter.topic_handlers import TopicHandlers
from services.interpreter.topic_keeper import TopicKeeper

log = logging.getLogger("kapacitor.notifier")

FETCH = 256


class Notifier:
    def __init__(
        self,
        cfg: Config,
        bus: NatsBus,
        member_id: str,
        clock: Clock,
        handlers: TopicHandlers,
        topics: TopicKeeper,
    ) -> None:
        self.cfg = cfg
        self.bus = bus
        self.member_id = member_id
        self.clock = clock
        self.log = AlertLog(cfg.alert_log) if cfg.alert_log is not None else None
        self.handlers = handlers
        self.topics = topics
        self._task: asyncio.Task[None] | None = None
        self._handlers_task: asyncio.Task[None] | None = None
        self._topics_task: asyncio.Task[None] | None = None
        self.member: Member | None = None

    async def start(self) -> None:
        self.member = await join(
            self.bus.js,
            self.cfg,
            subjects.NOTIFIER,
            self.clock,
            partitions=1,
            ident=self.member_id,
            on_change=self._changed,
            before_release=self._wind_up,
        )

    def _changed(self, change: OwnershipChange) -> None:
        if change.gained and self._task is None:
            log.info("notifier %s: delivering alert events", self.member_id)
            self._task = asyncio.create_task(self._run())
            self._handlers_task = asyncio.create_task(self.handlers.run())
            self._topics_task = asyncio.create_task(self.topics.run())
        if change.lost and self._task is not None:
            for task in (self._task, self._handlers_task, self._topics_task):
                cancel_soon(task)
            self._task = self._handlers_task = self._topics_task = None

    async def _wind_up(self, _: int) -> None:
        tasks = (self._task, self._handlers_task, self._topics_task)
        self._task = self._handlers_task = self._topics_task = None
        await cancel_and_wait(*tasks)

    async def _run(self) -> None:
        while True:
            try:
                puller = await self.bus.take_over_consumer(
                    subjects.ALERTS_STREAM,
                    subjects.NOTIFIER_CONSUMER,
                    subjects.ALERTS_ALL,
                    ack_wait=ACK_WAIT_FLOOR_S,
                    max_pending=FETCH,
                    ack_all=True,
                )
                try:
                    while True:
                        got = await puller.fetch(FETCH)
                        if got:
                            await self._deliver(got)
                finally:
                    await puller.close()
            except BusError as e:
                log.warning("notifier: %s; trying again", e)
                await asyncio.sleep(0.5)

    async def _deliver(self, got: Sequence[Delivery]) -> None:
        # The consumer acknowledges all up to the message acknowledged, and the server has
        # recorded it before more is delivered (a successor starts after it): a fetch is
        # written (and flushed) at once and acknowledged by its last message, so an alert
        # storm costs a round trip per fetch, not per event, and a notifier killed between
        # the write and the ack repeats that fetch.
        if self.log is not None:
            self.log.append(doc for msg in got for _, doc in _events(msg))
        await got[-1].ack_sync()

    async def stop(self) -> None:
        if self.member is not None:
            await self.member.leave()
        await self._wind_up(0)
        if self.log is not None:
            self.log.close()


def _events(msg: Delivery) -> list[tuple[str, bytes]]:
    """(event id, document) of each event an ALERTS message holds; none of one that cannot be
    read (logged, and acknowledged with the others: it would not read any better later)."""
    try:
        return split_events(msg.data, msg.header(subjects.H_EVENT_IDS))
    except CodecError as e:
        log.error("dropping alert events message %s: %s", msg.sequence, e)
        return []
