"""The API's side of the replay control protocol (kapacitor.replay.messages), over the Bus:
ask the replay service to record or replay, stop a live recording, stream a replay's progress
and report."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson

from kapacitor.bus import subjects
from kapacitor.bus.interface import Bus, Message
from kapacitor.errors import KapacitorError, ServiceUnavailable
from kapacitor.replay.messages import (
    RecordPlugin,
    RecordQuery,
    RecordStream,
    ReplayDone,
    ReplayRequest,
    decode_reply,
    encode,
)
from kapacitor.replay.recording import RecordingInfo, decode_info
from kapacitor.replay.report_parts import ReportParts

__all__ = ["ASK_TIMEOUT_S", "REPLAY_TIMEOUT_S", "REPORT_WAIT_S", "STOP_TIMEOUT_S", "ReplayControl"]

ASK_TIMEOUT_S = 30.0
REPLAY_TIMEOUT_S = 3600.0
STOP_TIMEOUT_S = 10.0
REPORT_WAIT_S = 5.0  # the parts were published before the reply; they land on another inbox
RESPONDER = "replay service"


class ReplayControl:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    async def record(self, req: RecordQuery | RecordStream | RecordPlugin) -> RecordingInfo:
        """Start a recording; the replay service answers with its info (status running)."""
        msg = await self.bus.request(
            subjects.replay_ctl(req.VERB), encode(req), timeout=ASK_TIMEOUT_S, responder=RESPONDER
        )
        return decode_reply(msg.data, RecordingInfo)

    async def stop(self, rec_id: str) -> RecordingInfo | None:
        """The final info of a live recording, or None when no replay service holds it (it was
        restarted: the caller closes the recording with what was stored)."""
        try:
            msg = await self.bus.request(
                subjects.replay_stop(rec_id), b"", timeout=STOP_TIMEOUT_S, responder=RESPONDER
            )
        except ServiceUnavailable:
            return None
        return decode_info(msg.data)

    async def replay(self, req: ReplayRequest) -> AsyncIterator[bytes]:
        """A replay as NDJSON lines: progress `{"done": n, "total": m}` as it goes, then
        `{"report": {...}}`, or `{"error": "..."}` when it fails."""
        parts = ReportParts()
        arrived = asyncio.Event()
        lines: asyncio.Queue[bytes] = asyncio.Queue()

        async def on_progress(msg: Message) -> None:
            part = msg.header(subjects.H_REPORT_PART)
            if part:
                parts.add(int(part), msg.data)
                if parts.complete:
                    arrived.set()
            else:
                lines.put_nowait(msg.data + b"\n")

        sub = await self.bus.subscribe(subjects.replay_progress(req.replay_id), on_progress)
        task = asyncio.ensure_future(
            self.bus.request(
                subjects.replay_ctl(req.VERB),
                encode(req),
                timeout=REPLAY_TIMEOUT_S,
                responder=RESPONDER,
            )
        )
        try:
            while not task.done():
                getter = asyncio.ensure_future(lines.get())
                done, _ = await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    yield getter.result()
                else:
                    getter.cancel()
            try:
                reply = decode_reply(task.result().data, ReplayDone)
                parts.expect(reply.report_parts)
                if parts.complete:
                    arrived.set()
                await asyncio.wait_for(arrived.wait(), REPORT_WAIT_S)
            except TimeoutError:
                pass  # join() says how much arrived
            except KapacitorError as e:  # the stream is under way: the error goes in it
                yield orjson.dumps({"error": str(e)}) + b"\n"
                return
            try:
                yield b'{"report":' + parts.join() + b"}\n"
            except ValueError as e:
                yield orjson.dumps({"error": str(e)}) + b"\n"
        finally:
            if not task.done():
                task.cancel()
            await sub.unsubscribe()
