"""Ingest: line protocol published on NATS (Telegraf's outputs.nats) in, point batches out to
the durable POINTS stream. (Writes over HTTP are parsed and stored by the API itself, with
the same code: kapacitor.ingest.)"""

from __future__ import annotations

import asyncio
import logging

from kapacitor.bus import subjects
from kapacitor.bus.client import open_bus
from kapacitor.bus.interface import Bus, Message
from kapacitor.clock import Clock, SystemClock
from kapacitor.cluster.presence import join
from kapacitor.config import STORE_ACK_TIMEOUT_S, Config
from kapacitor.daemon.service import run_service
from kapacitor.ingest import Write

log = logging.getLogger("kapacitor.ingest")


class IngestService:
    """Ingest's handlers, on any Bus."""

    def __init__(self, cfg: Config, bus: Bus, clock: Clock) -> None:
        self.cfg = cfg
        self.bus = bus
        self.clock = clock

    async def start(self) -> None:
        if self.cfg.nats_input.enabled:
            subject = self.cfg.nats_input.subject
            await self.bus.subscribe(subject, self.on_telegraf, queue=subjects.NATS_INPUT_QUEUE)
            log.info("accepting line protocol on NATS subject %r", subject)

    async def on_telegraf(self, msg: Message) -> None:
        cfg = self.cfg.nats_input
        w = Write(cfg.db, cfg.rp, cfg.precision, self.clock.now_ns())
        try:
            w.add_chunk(msg.data)
            await self.bus.store_all(
                w.messages, stream=subjects.POINTS_STREAM, timeout=STORE_ACK_TIMEOUT_S
            )
            for e in w.errors:
                log.warning("nats input %s: line %d: %s", msg.subject, e.line, e.reason)
        except Exception as e:  # loop boundary: log and go on with the next message
            log.exception("nats input failed: %s", e)


async def serve(cfg: Config, stop: asyncio.Event) -> None:
    bus = await open_bus(cfg.nats_url, "kapacitor-ingest", cfg.cluster.replicas)
    clock = SystemClock()
    await IngestService(cfg, bus, clock).start()
    presence = await join(bus.js, cfg, "ingest", clock)
    log.info("ingest ready")
    await stop.wait()
    await presence.leave()
    await bus.close()


def main() -> None:
    run_service("ingest", serve)
