"""Replay: records bits of the stream (live or from InfluxDB) and replays recordings to a plugin
in isolation. Everything it does is asked over NATS by the API (kapacitor.replay.ctl.<verb>)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import numpy as np
import orjson
from nats.aio.msg import Msg

from kapacitor.alerting.handlers import AlertLog, Webhook
from kapacitor.bus import subjects
from kapacitor.bus.client import kv_bucket, setup, shutdown
from kapacitor.bus.plugin_store import PluginStore
from kapacitor.bus.recording_store import RecordingStore
from kapacitor.clock import SystemClock
from kapacitor.config import Config
from kapacitor.daemon.service import run_service
from kapacitor.errors import KapacitorError
from kapacitor.influx import database_of, query_batches
from kapacitor.match.predicate import Predicate, compile_where
from kapacitor.match.where import parse_where
from kapacitor.model import PointBatch, decode_batch
from kapacitor.replay.player import CHUNK_ROWS, encode_report, replay
from kapacitor.replay.recording import RecordingInfo, RecordingStats, new_recording_id

log = logging.getLogger("kapacitor.replay")
INFO_EVERY_BATCHES = 20
INFO_INTERVAL_S = 0.5
REPORT_PART_BYTES = 256 * 1024
PACED_CHUNK_ROWS = 10  # small chunks follow the recorded pace closely


class Pacer:
    """Sleeps so that event time advances `speed` times as fast as the wall clock."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.origin: tuple[float, int] | None = None

    def wait(self, event_ns: int) -> None:
        if self.origin is None:
            self.origin = (time.monotonic(), event_ns)
            return
        wall0, event0 = self.origin
        due = wall0 + (event_ns - event0) / 1e9 / self.speed
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)


@dataclass
class StreamFilter:
    """Which live points a recording keeps: --from, --where, --db, --rp (all optional)."""

    measurement: str = ""
    db: str = ""
    rp: str = ""
    where: Predicate | None = None

    def apply(self, batch: PointBatch) -> PointBatch:
        if (self.db and batch.db != self.db) or (self.rp and batch.rp != self.rp):
            return batch.take(np.zeros(0, dtype=np.intp))
        mask = np.ones(len(batch), dtype=np.bool_)
        if self.measurement:
            ok = np.array([s.measurement == self.measurement for s in batch.series], dtype=np.bool_)
            mask &= ok[batch.series_idx]
        if self.where is not None:
            mask &= self.where.evaluate(batch)
        if mask.all():
            return batch
        return batch.take(np.flatnonzero(mask))


@dataclass
class LiveRecording:
    info: RecordingInfo
    filter: StreamFilter
    stats: RecordingStats = field(default_factory=RecordingStats)
    timer: asyncio.Task[None] | None = None
    published: int = 0  # points in the info last written to the store


def _error(msg: str) -> bytes:
    return orjson.dumps({"failure": msg})


async def serve(cfg: Config, stop: asyncio.Event) -> None:
    nc, js = await setup(cfg.nats_url, "kapacitor-replay")
    recordings = RecordingStore(js, await kv_bucket(js, subjects.RECORDINGS_BUCKET))
    plugins = PluginStore(await kv_bucket(js, subjects.PLUGINS_BUCKET))
    clock = SystemClock()
    live: dict[str, LiveRecording] = {}
    points_sub: Any = None
    tasks: set[asyncio.Task[Any]] = set()
    lock = asyncio.Lock()

    def background(coro: Awaitable[None]) -> None:
        t: asyncio.Task[Any] = asyncio.ensure_future(coro)
        tasks.add(t)
        t.add_done_callback(tasks.discard)

    async def fresh_id(wanted: str) -> str:
        if wanted:
            if await recordings.exists(wanted):
                raise KapacitorError(f"a recording with id {wanted!r} exists already")
            return wanted
        while True:
            rid = new_recording_id(clock)
            if not await recordings.exists(rid):
                return rid

    def handler(
        fn: Callable[[dict[str, Any], Msg], Awaitable[bytes]],
    ) -> Callable[[Msg], Awaitable[None]]:
        async def run(msg: Msg) -> None:
            try:
                req = orjson.loads(msg.data or b"{}")
                reply = await fn(req, msg)
            except KapacitorError as e:
                reply = _error(str(e))
            except Exception as e:  # loop boundary: the API must get an answer
                log.exception("replay request failed")
                reply = _error(f"replay service failed: {e}")
            try:
                await msg.respond(reply)
            except Exception as e:  # e.g. over the payload limit: say so rather than go silent
                log.error("cannot answer %s: %s", msg.subject, e)
                await msg.respond(_error(f"replay service cannot answer: {e}"))

        async def spawn(msg: Msg) -> None:
            # Subscription callbacks run one at a time: long work goes to its own task so two
            # replays (or a replay and a recording) proceed side by side.
            background(run(msg))

        return spawn

    # ---- recording from InfluxDB ------------------------------------------------------
    async def record_query(req: dict[str, Any], msg: Msg) -> bytes:
        rid = await fresh_id(str(req.get("id", "")))
        info = RecordingInfo(id=rid, kind="query", created=clock.now_ns(), source=str(req["query"]))
        # Like Telegraf users expect: an unqualified query reads the default database.
        db = str(req.get("db", "")) or (
            "" if database_of(str(req["query"])) else cfg.ingest.default_db
        )
        await recordings.put(info)

        async def run() -> None:
            stats = RecordingStats()
            current = info
            try:
                async for batch in query_batches(
                    str(req["host"]),
                    str(req["query"]),
                    db=db,
                    rp=str(req.get("rp", "")),
                    username=str(req.get("username", "")),
                    password=str(req.get("password", "")),
                ):
                    stats.add(batch, await recordings.append(rid, batch))
                    if stats.batches % INFO_EVERY_BATCHES == 0:
                        await recordings.put(stats.apply(current))
                current = msgspec.structs.replace(stats.apply(current), status="finished")
            except KapacitorError as e:
                current = msgspec.structs.replace(
                    stats.apply(current), status="failed", error=str(e)
                )
            await recordings.put(current)

        background(run())
        return msgspec.json.encode(info)

    # ---- recording the live stream ----------------------------------------------------
    async def on_points(msg: Msg) -> None:
        if not live:
            return
        try:
            batch = decode_batch(msg.data)
        except KapacitorError:
            return
        async with lock:
            for rec in list(live.values()):
                kept = rec.filter.apply(batch)
                if len(kept):
                    rec.stats.add(kept, await recordings.append(rec.info.id, kept))

    async def publish_live() -> None:
        """Keep the stored info of live recordings current, so `recordings` shows progress."""
        while True:
            await asyncio.sleep(INFO_INTERVAL_S)
            async with lock:
                for rec in live.values():
                    if rec.stats.points != rec.published:
                        rec.published = rec.stats.points
                        await recordings.put(rec.stats.apply(rec.info))

    async def finish(rid: str) -> RecordingInfo:
        async with lock:  # no batch and no progress update can land after the final info
            rec = live.pop(rid)
            info = msgspec.structs.replace(rec.stats.apply(rec.info), status="finished")
            await recordings.put(info)
        if rec.timer is not None and rec.timer is not asyncio.current_task():
            rec.timer.cancel()
        return info

    async def record_stream(req: dict[str, Any], msg: Msg) -> bytes:
        nonlocal points_sub
        where = str(req.get("where", ""))
        filt = StreamFilter(
            measurement=str(req.get("from", "")),
            db=str(req.get("db", "")),
            rp=str(req.get("rp", "")),
            where=compile_where(parse_where(where)) if where.strip() else None,
        )
        rid = await fresh_id(str(req.get("id", "")))
        described = " ".join(f"{k}={req[k]!r}" for k in ("from", "where", "db", "rp") if req.get(k))
        info = RecordingInfo(
            id=rid, kind="stream", created=clock.now_ns(), source=described or "all points"
        )
        await recordings.put(info)
        rec = LiveRecording(info, filt)
        live[rid] = rec
        if points_sub is None:
            points_sub = await nc.subscribe(subjects.POINTS_IN, cb=on_points)
        duration = float(req.get("duration", 0) or 0)
        if duration > 0:

            async def stop_later() -> None:
                await asyncio.sleep(duration)
                if rid in live:
                    await finish(rid)

            rec.timer = asyncio.ensure_future(stop_later())
        await nc.flush()
        return msgspec.json.encode(info)

    async def on_stop(msg: Msg) -> None:
        rid = subjects.untoken(msg.subject.rsplit(".", 1)[-1])
        if rid not in live:
            return  # another replay instance may hold it; the requester times out otherwise
        await msg.respond(msgspec.json.encode(await finish(rid)))

    # ---- replaying --------------------------------------------------------------------
    async def run_replay(req: dict[str, Any], msg: Msg) -> bytes:
        rid = str(req["recording"])
        info = await recordings.get(rid)
        if info.status == "running":
            raise KapacitorError(f"recording {rid} is still running: stop it first")
        definition = await plugins.get(str(req["plugin"]))
        progress_subject = subjects.replay_progress(str(req.get("replay_id", rid)))
        batches = [b async for b in recordings.batches(rid)]
        loop = asyncio.get_running_loop()
        last = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] >= 0.1 or done == total:
                last[0] = now
                body = orjson.dumps({"done": done, "total": total})
                loop.call_soon_threadsafe(
                    lambda: asyncio.ensure_future(nc.publish(progress_subject, body))
                )

        speed = float(req.get("speed", 0) or 0)
        pace = Pacer(speed).wait if speed > 0 else None
        report = await asyncio.to_thread(
            replay,
            batches,
            definition,
            progress=progress,
            total=info.points,
            recording=rid,
            pace=pace,
            chunk_rows=PACED_CHUNK_ROWS if pace else CHUNK_ROWS,
        )
        if req.get("send_alerts") and report.alerts:
            await send_alerts(report.alerts, definition.webhook)
        # A report can outgrow a NATS message (thousands of alerts): it goes as numbered parts
        # on the progress subject, and the reply only says how many there are.
        data = encode_report(report)
        parts = [data[i : i + REPORT_PART_BYTES] for i in range(0, len(data), REPORT_PART_BYTES)]
        for i, part in enumerate(parts):
            await nc.publish(progress_subject, part, headers={subjects.H_REPORT_PART: str(i)})
        await nc.flush()
        return orjson.dumps({"report_parts": len(parts)})

    async def send_alerts(alerts: list[dict[str, Any]], webhook_url: str) -> None:
        url = webhook_url or cfg.alert.webhook_url
        docs = [orjson.dumps(a) for a in alerts]
        if cfg.alert_log is not None:
            alert_log = AlertLog(cfg.alert_log)
            for d in docs:
                alert_log.send(d)
            await alert_log.close()
        if url:
            hook = Webhook(url, cfg.alert.webhook_timeout.seconds)
            for d in docs:
                hook.send(d)
            await hook.close()

    q = subjects.REPLAY_QUEUE
    await nc.subscribe(subjects.replay_ctl("record_query"), queue=q, cb=handler(record_query))
    await nc.subscribe(subjects.replay_ctl("record_stream"), queue=q, cb=handler(record_stream))
    await nc.subscribe(subjects.replay_ctl("replay"), queue=q, cb=handler(run_replay))
    await nc.subscribe(subjects.REPLAY_STOP_ALL, cb=on_stop)
    background(publish_live())
    log.info("replay ready")
    await stop.wait()
    for rid in list(live):
        await finish(rid)
    await shutdown(nc, *tasks)


def main() -> None:
    run_service("replay", serve)
