"""Ingest: line protocol published on NATS (Telegraf's outputs.nats) in, point batches out to
the durable POINTS stream. (Writes over HTTP are parsed and stored by the API itself, with
the same code: kapacitor.ingest.)"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from kapacitor.bus import subjects
from kapacitor.bus.client import open_bus
from kapacitor.bus.interface import Bus, Message
from kapacitor.clock import Clock, SystemClock
from kapacitor.cluster.presence import join
from kapacitor.config import STORE_ACK_TIMEOUT_S, Config
from kapacitor.daemon.service import run_service
from kapacitor.ingest import Write

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

    async def start(self) -> None:
        if self.cfg.nats_input.enabled:
            subject = self.cfg.nats_input.subject
            await self.bus.subscribe(subject, self.on_telegraf, queue=subjects.NATS_INPUT_QUEUE)
            log.info("accepting line protocol on NATS subject %r", subject)

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
        """Wait for the bodies being stored."""
        if self._storing:
            await asyncio.wait(self._storing)


async def serve(cfg: Config, stop: asyncio.Event) -> None:
    bus = await open_bus(cfg.nats_url, "kapacitor-ingest", cfg.cluster.replicas, cfg.alert.keep)
    clock = SystemClock()
    ingest = IngestService(cfg, bus, clock)
    await ingest.start()
    presence = await join(bus.js, cfg, "ingest", clock)
    log.info("ingest ready")
    await stop.wait()
    await presence.leave()
    await ingest.stop()
    await bus.close()


def main() -> None:
    run_service("ingest", serve)
