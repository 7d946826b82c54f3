"""The API's side of the replay protocol on a fake Bus: progress lines, a report whose parts
arrive after the reply and out of order, failures as error lines, stopping."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence

import orjson
import pytest

from kapacitor.bus import subjects
from kapacitor.bus.interface import Delivery, Handler, Message, Stored
from kapacitor.errors import ServiceUnavailable
from kapacitor.replay import control
from kapacitor.replay.control import ReplayControl
from kapacitor.replay.messages import Failure, Progress, ReplayDone, ReplayRequest, encode
from kapacitor.replay.recording import RecordingInfo, encode_info

Responder = Callable[["FakeBus", str, bytes], Awaitable[bytes]]


class _Sub:
    def __init__(self, bus: FakeBus, subject: str) -> None:
        self.bus, self.subject = bus, subject

    async def unsubscribe(self) -> None:
        del self.bus.handlers[self.subject]


class FakeBus:
    """Subjects to handlers in memory; requests answered by `responder` (None: nobody runs)."""

    def __init__(self, responder: Responder | None) -> None:
        self.responder = responder
        self.handlers: dict[str, Handler] = {}

    async def publish(
        self, subject: str, data: bytes, *, headers: Mapping[str, str] | None = None
    ) -> None:
        handler = self.handlers.get(subject)
        if handler is not None:
            await handler(Message(subject, data, dict(headers or {})))

    async def store(self, subject: str, data: bytes, *, stream: str) -> None:
        await self.publish(subject, data)

    async def store_all(self, messages: Sequence[Stored], *, stream: str, timeout: float) -> None:
        for m in messages:
            await self.publish(m.subject, m.data)

    async def store_all_later(
        self, messages: Sequence[Stored], *, stream: str, timeout: float
    ) -> Awaitable[None]:
        await self.store_all(messages, stream=stream, timeout=timeout)
        return asyncio.sleep(0)

    async def request(
        self,
        subject: str,
        data: bytes,
        *,
        timeout: float,
        headers: Mapping[str, str] | None = None,
        responder: str = "service",
    ) -> Message:
        if self.responder is None:
            raise ServiceUnavailable(f"no {responder} is running")
        return Message(subject, await self.responder(self, subject, data))

    async def subscribe(self, subject: str, handler: Handler, *, queue: str = "") -> _Sub:
        self.handlers[subject] = handler
        return _Sub(self, subject)

    async def consume_batches(
        self,
        stream: str,
        durable: str,
        batch: int,
        stop: asyncio.Event,
        handle: Callable[[Sequence[Delivery]], Awaitable[None]],
        *,
        wait: float = 0.0,
    ) -> None:
        await stop.wait()

    async def flush(self) -> None:
        pass


REQ = ReplayRequest(recording="r", plugin="p", replay_id="x")
PROGRESS = subjects.replay_progress("x")


async def lines(bus: FakeBus) -> list[dict[str, object]]:
    return [orjson.loads(line) async for line in ReplayControl(bus).replay(REQ)]


async def test_progress_then_the_report_from_late_parts_in_any_order() -> None:
    async def replay(bus: FakeBus, subject: str, data: bytes) -> bytes:
        assert subject == subjects.replay_ctl("replay") and data == encode(REQ)
        await bus.publish(PROGRESS, encode(Progress(1, 2)))
        await bus.publish(PROGRESS, b'port":1}', headers={subjects.H_REPORT_PART: "1"})

        async def late() -> None:  # the first part lands after the reply
            await asyncio.sleep(0.01)
            await bus.publish(PROGRESS, b'{"re', headers={subjects.H_REPORT_PART: "0"})

        asyncio.get_running_loop().create_task(late())
        return encode(ReplayDone(2))

    bus = FakeBus(replay)
    assert await lines(bus) == [{"done": 1, "total": 2}, {"report": {"report": 1}}]
    assert bus.handlers == {}  # unsubscribed


async def test_failures_and_missing_parts_end_the_stream_with_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def fails(bus: FakeBus, subject: str, data: bytes) -> bytes:
        return encode(Failure("recording r is still running: stop it first"))

    assert await lines(FakeBus(fails)) == [{"error": "recording r is still running: stop it first"}]
    assert await lines(FakeBus(None)) == [{"error": "no replay service is running"}]

    async def loses_a_part(bus: FakeBus, subject: str, data: bytes) -> bytes:
        return encode(ReplayDone(1))

    monkeypatch.setattr(control, "REPORT_WAIT_S", 0.01)
    assert await lines(FakeBus(loses_a_part)) == [
        {"error": "the replay report arrived incomplete (0/1)"}
    ]


async def test_stop_answers_the_final_info_or_none_when_nobody_holds_it() -> None:
    async def stopped(bus: FakeBus, subject: str, data: bytes) -> bytes:
        assert subject == subjects.replay_stop("r")
        return encode_info(RecordingInfo(id="r", kind="stream", status="finished"))

    info = await ReplayControl(FakeBus(stopped)).stop("r")
    assert info is not None and info.status == "finished"
    assert await ReplayControl(FakeBus(None)).stop("r") is None
