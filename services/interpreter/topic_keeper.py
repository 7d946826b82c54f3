"""Keeps each topic's alerts (kapacitor.bus.topic_store) from the events of every topic, read
from a durable consumer of its own by the member holding the notifier lease.

A round takes what has arrived (up to FETCH messages), keeps the last event of each alert,
writes those, then acknowledges. An alert storm so costs one write per alert per round, not
one per event (R1's 36,800 events per million points, one write each, took a quarter of
ingest's throughput). Rounds come every ROUND_S, or further apart after a round that wrote
more than WRITES_PER_S allows (up to MAX_ROUND_S): a long storm of thousands of alerts costs
a bounded write load (each write is a KV put the nats-server stores), while a quiet topic's
state stays a second behind. A keeper killed mid-round repeats the
round: the writes are idempotent (last event wins, in stream order)."""

from __future__ import annotations

import asyncio
import logging

from kapacitor.alerting.document import read_events
from kapacitor.bus import subjects
from kapacitor.bus.client import NatsBus
from kapacitor.bus.topic_store import TopicStore
from kapacitor.config import ACK_WAIT_FLOOR_S
from kapacitor.errors import BusError, CodecError

log = logging.getLogger("kapacitor.topics")

FETCH = 4096
ROUND_S = 1.0
MAX_ROUND_S = 5.0
WRITES_PER_S = 200  # alerts' state written per second in a storm


def round_wait_s(written: int) -> float:
    """The wait before the next round, after one that wrote `written` alerts' state."""
    return min(MAX_ROUND_S, max(ROUND_S, written / WRITES_PER_S))


RETRY_S = 0.5


class TopicKeeper:
    def __init__(self, bus: NatsBus, store: TopicStore) -> None:
        self.bus = bus
        self.store = store

    async def run(self) -> None:
        while True:
            try:
                puller = await self.bus.take_over_consumer(
                    subjects.ALERTS_STREAM,
                    subjects.TOPICS_CONSUMER,
                    subjects.TOPIC_ALERTS_ALL,
                    ack_wait=ACK_WAIT_FLOOR_S,
                    max_pending=FETCH,
                    ack_all=True,
                )
                try:
                    while True:
                        got = await puller.fetch(FETCH)
                        if not got:
                            continue
                        docs = []
                        for msg in got:
                            try:
                                events = read_events(msg.data, msg.header(subjects.H_EVENT_IDS))
                                docs += [doc for _, _, doc in events]
                            except CodecError as e:
                                log.error("topic events %s unreadable: %s", msg.sequence, e)
                        written = await self.store.record(docs)
                        await got[-1].ack_sync()
                        await asyncio.sleep(round_wait_s(written))
                finally:
                    await puller.close()
            except BusError as e:
                log.warning("topic keeper: %s; trying again", e)
                await asyncio.sleep(RETRY_S)
