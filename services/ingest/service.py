"""Ingest: line protocol in (write requests from the API, Telegraf over NATS), point batches out
to the durable POINTS stream. A request is answered only after JetStream has acked the batch."""

from __future__ import annotations

import asyncio
import logging
import time

from nats.aio.msg import Msg

from kapacitor.bus import subjects
from kapacitor.bus.client import header, setup, shutdown
from kapacitor.config import Config
from kapacitor.daemon.service import run_service
from kapacitor.errors import KapacitorError
from kapacitor.ingest import WriteReply, encode_reply, parse_chunk, reply_for
from kapacitor.model import encode_batch

log = logging.getLogger("kapacitor.ingest")


async def serve(cfg: Config, stop: asyncio.Event) -> None:
    nc, js = await setup(cfg.nats_url, "kapacitor-ingest")

    async def store(
        data: bytes, db: str, rp: str, precision: str, first_line: int, now: int
    ) -> WriteReply:
        batch, errors = parse_chunk(
            data, db=db, rp=rp, precision=precision, now_ns=now, first_line=first_line
        )
        if len(batch):
            await js.publish(subjects.POINTS_IN, encode_batch(batch), stream=subjects.POINTS_STREAM)
        return reply_for(len(batch), errors)

    async def on_write(msg: Msg) -> None:
        try:
            reply = await store(
                msg.data,
                header(msg, subjects.H_DB),
                header(msg, subjects.H_RP, cfg.ingest.default_rp),
                header(msg, subjects.H_PRECISION, "ns"),
                int(header(msg, subjects.H_FIRST_LINE, "1")),
                int(header(msg, subjects.H_NOW, "0")) or time.time_ns(),
            )
        except KapacitorError as e:
            reply = WriteReply(failure=str(e))
        except Exception as e:  # loop boundary: the API must get an answer, never a timeout
            log.exception("write failed")
            reply = WriteReply(failure=f"ingest failed: {e}")
        await msg.respond(encode_reply(reply))

    async def on_telegraf(msg: Msg) -> None:
        try:
            reply = await store(
                msg.data,
                cfg.nats_input.db,
                cfg.nats_input.rp,
                cfg.nats_input.precision,
                1,
                time.time_ns(),
            )
            for e in reply.errors:
                log.warning("nats input %s: line %d: %s", msg.subject, e.line, e.message)
        except Exception as e:  # loop boundary: log and go on with the next message
            log.exception("nats input failed: %s", e)

    await nc.subscribe(subjects.INGEST_WRITE, queue=subjects.INGEST_QUEUE, cb=on_write)
    if cfg.nats_input.enabled:
        subject = cfg.nats_input.subject
        await nc.subscribe(subject, queue=subjects.NATS_INPUT_QUEUE, cb=on_telegraf)
        log.info("accepting line protocol on NATS subject %r", subject)
    log.info("ingest ready")
    await stop.wait()
    await shutdown(nc)


def main() -> None:
    run_service("ingest", serve)
