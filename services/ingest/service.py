"""Ingest: line protocol published on NATS (Telegraf's outputs.nats) and sent over UDP
(`[[udp]]`, InfluxDB's udp subscriptions) in, point batches out to the durable POINTS stream.
(Writes over HTTP are parsed and stored by the API itself, with the same code:
kapacitor.ingest.) One ingest process also keeps InfluxDB's subscriptions (subscriber.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from kapacitor.bus import subjects
from kapacitor.bus.client import open_bus
from kapacitor.bus.input_store import InputStore, UdpStats
from kapacitor.bus.interface import Bus, Message
from kapacitor.clock import Clock, SystemClock
from kapacitor.cluster.presence import join
from kapacitor.config import STORE_ACK_TIMEOUT_S, Config
from kapacitor.daemon.service import run_service
from kapacitor.errors import KapacitorError
from kapacitor.ingest import Write
from kapacitor.tasks import cancel_and_wait
from services.ingest.subscriber import STATUS_INTERVAL_S, Subscriber
from services.ingest.udp import UdpListener, split_bind

log = logging.getLogger("kapacitor.ingest")


# Bodies from the NATS input whose POINTS acks are awaited at once: the next body is parsed
# and published while earlier ones are being stored (one at a time, each body waited out a
# round trip to the server before the next was parsed).
MAX_STORING = 8


class IngestService:
    """Ingest's handlers, on any Bus."""

    def __init__(self, cfg: Config, bus: Bus, clock: Clock) -> None:
        self.cfg = cfg
        self.bus = bus
        self.clock = clock
        self._room = asyncio.Semaphore(MAX_STORING)
        self._storing: set[asyncio.Task[None]] = set()
        self.udp: list[UdpListener] = []

    async def start(self) -> None:
        if self.cfg.nats_input.enabled:
            subject = self.cfg.nats_input.subject
            await self.bus.subscribe(subject, self.on_telegraf, queue=subjects.NATS_INPUT_QUEUE)
            log.info("accepting line protocol on NATS subject %r", subject)
        for u in self.cfg.udp:
            if not u.enabled:
                continue
            listener = UdpListener(
                UdpStats(u.bind_address, self.cfg.hostname, u.database, u.retention_policy),
                precision=u.precision,
                buffer=u.buffer,
                read_buffer=u.read_buffer,
                store=self.store,
                clock=self.clock,
            )
            try:
                host, port = split_bind(u.bind_address)
                await listener.open(host, port)
            except (ValueError, OSError) as e:
                raise KapacitorError(f"[[udp]] {u.bind_address}: cannot listen: {e}") from e
            self.udp.append(listener)

    async def store(self, w: Write) -> None:
        """Store a write's batches; returns once the POINTS stream has them."""
        acks = await self.bus.store_all_later(
            w.messages, stream=subjects.POINTS_STREAM, timeout=STORE_ACK_TIMEOUT_S
        )
        await acks

    async def publish_udp_stats(self, inputs: InputStore, member: str) -> None:
        while self.udp:
            try:
                for listener in self.udp:
                    await inputs.put_udp(member, listener.stats)
            except KapacitorError as e:
                log.warning("cannot publish the UDP listeners' counters: %s", e)
            await asyncio.sleep(STATUS_INTERVAL_S)

    async def on_telegraf(self, msg: Message) -> None:
        cfg = self.cfg.nats_input
        w = Write(cfg.db, cfg.rp, cfg.precision, self.clock.now_ns())
        await self._room.acquire()
        try:
            w.add_chunk(msg.data)
            acks = await self.bus.store_all_later(
                w.messages, stream=subjects.POINTS_STREAM, timeout=STORE_ACK_TIMEOUT_S
            )
        except Exception as e:  # loop boundary: log and go on with the next message
            self._room.release()
            log.exception("nats input failed: %s", e)
            return
        task = asyncio.create_task(self._stored(acks, w, msg.subject))
        self._storing.add(task)
        task.add_done_callback(self._storing.discard)

    async def _stored(self, acks: Awaitable[None], w: Write, subject: str) -> None:
        try:
            await acks
            for e in w.errors:
                log.warning("nats input %s: line %d: %s", subject, e.line, e.reason)
        except Exception as e:  # the task's boundary: log and go on
            log.exception("nats input failed: %s", e)
        finally:
            self._room.release()

    async def stop(self) -> None:
        """Stop listening; wait for the bodies being stored."""
        for listener in self.udp:
            await listener.close()
        if self._storing:
            await asyncio.wait(self._storing)


async def serve(cfg: Config, stop: asyncio.Event) -> None:
    bus = await open_bus(cfg.nats_url, "kapacitor-ingest", cfg.cluster.replicas, cfg.alert.keep)
    clock = SystemClock()
    ingest = IngestService(cfg, bus, clock)
    await ingest.start()
    presence = await join(bus.js, cfg, "ingest", clock)
    inputs = await InputStore.open(bus.js, cfg.cluster.replicas)
    udp_stats = asyncio.create_task(ingest.publish_udp_stats(inputs, presence.id))
    subscriber = Subscriber(cfg, bus, clock, ingest.store, inputs)
    await subscriber.start()
    log.info("ingest ready")
    await stop.wait()
    await subscriber.stop()
    await cancel_and_wait(udp_stats)
    await presence.leave()
    await ingest.stop()
    await bus.close()


def main() -> None:
    run_service("ingest", serve)
