"""Ingest: line protocol in (write requests from the API, Telegraf over NATS), point batches out
to the durable POINTS stream. A request is answered only after JetStream has acked the batch."""

from __future__ import annotations

import asyncio
import logging

from kapacitor.bus import subjects
from kapacitor.bus.client import open_bus
from kapacitor.bus.interface import Bus, Message
from kapacitor.clock import Clock, SystemClock
from kapacitor.cluster.presence import join
from kapacitor.config import Config
from kapacitor.daemon.service import run_service
from kapacitor.errors import KapacitorError
from kapacitor.ingest import WriteReply, WriteRequest, encode_reply, parse_chunk, reply_for
from kapacitor.model import encode_batch

log = logging.getLogger("kapacitor.ingest")


class IngestService:
    """Ingest's handlers, on any Bus."""

    def __init__(self, cfg: Config, bus: Bus, clock: Clock) -> None:
        self.cfg = cfg
        self.bus = bus
        self.clock = clock

    async def start(self) -> None:
        await self.bus.subscribe(subjects.INGEST_WRITE, self.on_write, queue=subjects.INGEST_QUEUE)
        if self.cfg.nats_input.enabled:
            subject = self.cfg.nats_input.subject
            await self.bus.subscribe(subject, self.on_telegraf, queue=subjects.NATS_INPUT_QUEUE)
            log.info("accepting line protocol on NATS subject %r", subject)

    async def store(self, data: bytes, req: WriteRequest) -> WriteReply:
        batch, errors = parse_chunk(
            data,
            db=req.db,
            rp=req.rp,
            precision=req.precision,
            now_ns=req.now_ns or self.clock.now_ns(),
            first_line=req.first_line,
        )
        if len(batch):
            await self.bus.store(
                subjects.POINTS_IN, encode_batch(batch), stream=subjects.POINTS_STREAM
            )
        return reply_for(len(batch), errors)

    async def on_write(self, msg: Message) -> None:
        try:
            req = WriteRequest.from_headers(msg.headers, self.cfg.ingest.default_rp)
            reply = await self.store(msg.data, req)
        except KapacitorError as e:
            reply = WriteReply(failure=str(e))
        except Exception as e:  # loop boundary: the API must get an answer, never a timeout
            log.exception("write failed")
            reply = WriteReply(failure=f"ingest failed: {e}")
        await msg.respond(encode_reply(reply))

    async def on_telegraf(self, msg: Message) -> None:
        req = WriteRequest(
            db=self.cfg.nats_input.db,
            rp=self.cfg.nats_input.rp,
            precision=self.cfg.nats_input.precision,
        )
        try:
            reply = await self.store(msg.data, req)
            for e in reply.errors:
                log.warning("nats input %s: line %d: %s", msg.subject, e.line, e.message)
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
