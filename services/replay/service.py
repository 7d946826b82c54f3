"""Replay: records bits of the stream (live or from InfluxDB) and replays recordings to a plugin
in isolation. Everything it does is asked over NATS by the API (kapacitor.replay.ctl.<verb>,
messages in kapacitor.replay.messages)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec
import orjson

from kapacitor.alerting.alert_log import AlertLog
from kapacitor.alerting.kinds.base import Event
from kapacitor.alerting.replayed import send_replayed
from kapacitor.alerting.webhooks import server_webhook
from kapacitor.bus import subjects
from kapacitor.bus.client import NatsBus, kv_bucket, open_bus
from kapacitor.bus.interface import Bus, Message, Subscription
from kapacitor.bus.plugin_store import PluginStore
from kapacitor.bus.recording_store import RecordingStore
from kapacitor.clock import Clock, SystemClock
from kapacitor.cluster.presence import join
from kapacitor.config import Config, InfluxDBConfig
from kapacitor.daemon.service import run_service
from kapacitor.errors import Conflict, KapacitorError, PluginError, ServiceFailed
from kapacitor.influx import database_of, query_batches
from kapacitor.influx.cluster import InfluxCluster
from kapacitor.match import PluginRoute, compile_where, parse_where, route
from kapacitor.model import PointBatch, decode_batch
from kapacitor.plugins import PluginDefinition
from kapacitor.plugins.attached import plugin_handlers
from kapacitor.replay.messages import (
    Failure,
    Progress,
    RecordPlugin,
    RecordQuery,
    RecordStream,
    ReplayDone,
    ReplayRequest,
    decode_request,
    encode,
)
from kapacitor.replay.pacer import Pacer
from kapacitor.replay.player import CHUNK_ROWS, encode_report, replay
from kapacitor.replay.recording import RecordingInfo, RecordingStats, new_recording_id
from kapacitor.replay.report_parts import split_report
from kapacitor.schedule import Schedule, schedule_of
from kapacitor.schedule.ticks import tick_batches

log = logging.getLogger("kapacitor.replay")
INFO_EVERY_BATCHES = 20
# Ticks one record --plugin may run (a day of 10 s ticks): a longer past is refused up front.
MAX_RECORDED_TICKS = 10_000
INFO_INTERVAL_S = 0.5
PROGRESS_EVERY_NS = 100_000_000
PACED_CHUNK_ROWS = 10  # small chunks follow the recorded pace closely

R = TypeVar("R", RecordQuery, RecordStream, RecordPlugin, ReplayRequest)


def stream_route(rec_id: str, req: RecordStream) -> PluginRoute:
    """Which live points a recording keeps: the router's own matching of --from, --where,
    --db and --rp (all optional)."""
    where = compile_where(parse_where(req.where) if req.where.strip() else None)
    return PluginRoute(rec_id, req.from_, db=req.db or None, rp=req.rp or None, where=where)


@dataclass
class LiveRecording:
    info: RecordingInfo
    route: PluginRoute
    stats: RecordingStats = field(default_factory=RecordingStats)
    timer: asyncio.Task[None] | None = None
    published: int = 0  # points in the info last written to the store


class ReplayService:
    """The replay service's handlers, on any Bus; `start` subscribes them, `stop` ends live
    recordings (keeping what they stored)."""

    def __init__(
        self,
        cfg: Config,
        bus: Bus,
        recordings: RecordingStore,
        plugins: PluginStore,
        clock: Clock,
    ) -> None:
        self.cfg = cfg
        self.bus = bus
        self.recordings = recordings
        self.plugins = plugins
        self.clock = clock
        self.live: dict[str, LiveRecording] = {}
        self.points_sub: Subscription | None = None
        self.tasks: set[asyncio.Task[Any]] = set()
        self.lock = asyncio.Lock()

    async def start(self) -> None:
        q = subjects.REPLAY_QUEUE
        await self.bus.subscribe(
            subjects.replay_ctl(RecordQuery.VERB),
            self.handler(RecordQuery, self.record_query),
            queue=q,
        )
        await self.bus.subscribe(
            subjects.replay_ctl(RecordPlugin.VERB),
            self.handler(RecordPlugin, self.record_plugin),
            queue=q,
        )
        await self.bus.subscribe(
            subjects.replay_ctl(RecordStream.VERB),
            self.handler(RecordStream, self.record_stream),
            queue=q,
        )
        await self.bus.subscribe(
            subjects.replay_ctl(ReplayRequest.VERB),
            self.handler(ReplayRequest, self.run_replay),
            queue=q,
        )
        await self.bus.subscribe(subjects.REPLAY_STOP_ALL, self.on_stop)
        self.background(self.publish_live())

    async def stop(self) -> None:
        for rid in list(self.live):
            await self.finish(rid)

    def background(self, coro: Awaitable[None]) -> None:
        t: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)

    async def fresh_id(self, wanted: str) -> str:
        if wanted:
            if await self.recordings.exists(wanted):
                raise Conflict(f"a recording with id {wanted!r} exists already")
            return wanted
        while True:
            rid = new_recording_id(self.clock)
            if not await self.recordings.exists(rid):
                return rid

    def handler(
        self, kind: type[R], fn: Callable[[R], Awaitable[msgspec.Struct]]
    ) -> Callable[[Message], Awaitable[None]]:
        async def run(msg: Message) -> None:
            reply: msgspec.Struct
            try:
                reply = await fn(decode_request(msg.data, kind))
            except KapacitorError as e:
                reply = Failure(str(e))
            except Exception as e:  # loop boundary: the API must get an answer
                log.exception("replay request failed")
                reply = Failure(f"replay service failed: {e}")
            try:
                await msg.respond(encode(reply))
            except Exception as e:  # e.g. over the payload limit: say so rather than go silent
                log.error("cannot answer %s: %s", msg.subject, e)
                await msg.respond(encode(Failure(f"replay service cannot answer: {e}")))

        async def spawn(msg: Message) -> None:
            # Subscription callbacks run one at a time: long work goes to its own task so two
            # replays (or a replay and a recording) proceed side by side.
            self.background(run(msg))

        return spawn

    # ---- recording from InfluxDB ------------------------------------------------------
    async def record_query(self, req: RecordQuery) -> RecordingInfo:
        await self.cfg.outbound_policy().check(req.host)  # the caller names the host
        rid = await self.fresh_id(req.id)
        info = RecordingInfo(id=rid, kind="query", created=self.clock.now_ns(), source=req.query)
        # Like Telegraf users expect: an unqualified query reads the default database.
        db = req.db or ("" if database_of(req.query) else self.cfg.ingest.default_db)
        await self.recordings.put(info)
        self.background(self.run_query(req, info, db))
        return info

    async def run_query(self, req: RecordQuery, info: RecordingInfo, db: str) -> None:
        await self._record(
            info,
            query_batches(
                req.host,
                req.query,
                db=db,
                rp=req.rp,
                username=req.username,
                password=req.password,
            ),
        )

    async def _record(self, info: RecordingInfo, batches: AsyncIterator[PointBatch]) -> None:
        """Store `batches` in the recording, keeping its info current, then finish it (or
        fail it with the error that stopped them)."""
        stats = RecordingStats()
        current = info
        try:
            async for batch in batches:
                stats.add(batch, await self.recordings.append(info.id, batch))
                if stats.batches % INFO_EVERY_BATCHES == 0:
                    await self.recordings.put(stats.apply(current))
            current = msgspec.structs.replace(stats.apply(current), status="finished")
        except KapacitorError as e:
            current = msgspec.structs.replace(stats.apply(current), status="failed", error=str(e))
        await self.recordings.put(current)

    # ---- recording a scheduled plugin's ticks -----------------------------------------
    async def record_plugin(self, req: RecordPlugin) -> RecordingInfo:
        d = await self.plugins.get(req.plugin)
        if not d.scheduled:
            raise PluginError(
                f"plugin {d.name!r} reads the stream: record it with start-recording or"
                " record --duration (--plugin records a scheduled plugin's queries)"
            )
        schedule = schedule_of(d.every, d.cron, d.period, d.offset)
        now = self.clock.now_ns()
        ticks = schedule.ticks(now - int(req.past * 1e9), now, MAX_RECORDED_TICKS)
        cluster = self.cfg.influxdb_cluster(d.cluster)
        rid = await self.fresh_id(req.id)
        source = f"plugin {d.name}: {len(ticks)} ticks of {d.query}"
        info = RecordingInfo(id=rid, kind="plugin", created=now, source=source)
        await self.recordings.put(info)
        self.background(self.run_ticks(d, schedule, ticks, cluster, info))
        return info

    async def run_ticks(
        self,
        d: PluginDefinition,
        schedule: Schedule,
        ticks: list[int],
        cluster: InfluxDBConfig,
        info: RecordingInfo,
    ) -> None:
        async def answers() -> AsyncIterator[PointBatch]:
            async with InfluxCluster(cluster) as influx:
                for tick in ticks:
                    for batch in await tick_batches(influx, d, schedule, tick):
                        yield batch

        await self._record(info, answers())

    # ---- recording the live stream ----------------------------------------------------
    async def on_points(self, msg: Message) -> None:
        if not self.live:
            return
        try:
            batch = decode_batch(msg.data)
        except KapacitorError:
            return
        async with self.lock:
            for rid, kept in route(batch, [r.route for r in self.live.values()]).items():
                rec = self.live[rid]
                rec.stats.add(kept, await self.recordings.append(rid, kept))

    async def publish_live(self) -> None:
        """Keep the stored info of live recordings current, so `recordings` shows progress."""
        while True:
            await asyncio.sleep(INFO_INTERVAL_S)
            async with self.lock:
                for rec in self.live.values():
                    if rec.stats.points != rec.published:
                        rec.published = rec.stats.points
                        await self.recordings.put(rec.stats.apply(rec.info))

    async def finish(self, rid: str) -> RecordingInfo:
        async with self.lock:  # no batch and no progress update can land after the final info
            rec = self.live.pop(rid)
            info = msgspec.structs.replace(rec.stats.apply(rec.info), status="finished")
            await self.recordings.put(info)
        if rec.timer is not None and rec.timer is not asyncio.current_task():
            rec.timer.cancel()
        return info

    async def record_stream(self, req: RecordStream) -> RecordingInfo:
        rid = await self.fresh_id(req.id)
        rec_route = stream_route(rid, req)
        info = RecordingInfo(
            id=rid, kind="stream", created=self.clock.now_ns(), source=req.describe()
        )
        await self.recordings.put(info)
        rec = LiveRecording(info, rec_route)
        self.live[rid] = rec
        if self.points_sub is None:
            self.points_sub = await self.bus.subscribe(subjects.POINTS_IN, self.on_points)
        if req.duration > 0:
            rec.timer = asyncio.ensure_future(self.stop_later(rid, req.duration))
        await self.bus.flush()
        return info

    async def stop_later(self, rid: str, seconds: float) -> None:
        await asyncio.sleep(seconds)
        if rid in self.live:
            await self.finish(rid)

    async def on_stop(self, msg: Message) -> None:
        rid = subjects.untoken(msg.subject.rsplit(".", 1)[-1])
        if rid not in self.live:
            return  # another replay instance may hold it; the requester times out otherwise
        await msg.respond(msgspec.json.encode(await self.finish(rid)))

    # ---- replaying --------------------------------------------------------------------
    async def run_replay(self, req: ReplayRequest) -> ReplayDone:
        rid = req.recording
        info = await self.recordings.get(rid)
        if info.status == "running":
            raise ServiceFailed(f"recording {rid} is still running: stop it first")
        definition = await self.plugins.get(req.plugin)
        progress_subject = subjects.replay_progress(req.replay_id or rid)
        batches = [b async for b in self.recordings.batches(rid)]
        loop = asyncio.get_running_loop()
        last = [0]

        def progress(done: int, total: int) -> None:  # called from the replay thread
            now = self.clock.now_ns()
            if now - last[0] >= PROGRESS_EVERY_NS or done == total:
                last[0] = now
                body = encode(Progress(done, total))
                loop.call_soon_threadsafe(
                    lambda: self.background(self.bus.publish(progress_subject, body))
                )

        pace = Pacer(req.speed, self.clock, time.sleep).wait if req.speed > 0 else None
        report = await asyncio.to_thread(
            replay,
            batches,
            definition,
            progress=progress,
            total=info.points,
            recording=rid,
            pace=pace,
            chunk_rows=PACED_CHUNK_ROWS if pace else CHUNK_ROWS,
            max_alerts=0 if req.send_alerts else req.max_alerts,  # sending needs them all
        )
        if req.send_alerts and report.alerts:
            await self.send_alerts(report.alerts, definition, req.replay_id or rid)
            if req.max_alerts:
                report.alerts = report.alerts[: req.max_alerts]
        # A report can outgrow a NATS message: it goes as numbered parts on the progress
        # subject, and the reply only says how many there are.
        parts = split_report(encode_report(report))
        for i, part in enumerate(parts):
            await self.bus.publish(progress_subject, part, headers={subjects.H_REPORT_PART: str(i)})
        await self.bus.flush()
        return ReplayDone(len(parts))

    async def send_alerts(
        self, alerts: list[dict[str, Any]], definition: PluginDefinition, replay_id: str
    ) -> None:
        """`--send-alerts`: the alert log, then the handlers a live event of the plugin would
        reach (kapacitor.alerting.replayed); event ids `replay:<replay>:<n>`."""
        docs = [orjson.dumps(a) for a in alerts]
        if self.cfg.alert_log is not None:
            alert_log = AlertLog(self.cfg.alert_log)
            alert_log.append(docs)
            alert_log.close()
        timeout = str(self.cfg.alert.webhook_timeout)
        specs = list(plugin_handlers(definition, timeout))
        if self.cfg.alert.webhook_url:
            specs.append(server_webhook(self.cfg.alert.webhook_url, timeout))
        events = [
            Event(f"replay:{replay_id}:{i}", doc, alert)
            for i, (doc, alert) in enumerate(zip(docs, alerts, strict=True))
        ]
        await send_replayed(specs, events, self.cfg)


async def open_service(cfg: Config, bus: NatsBus, clock: Clock) -> ReplayService:
    recordings = RecordingStore(bus.js, await kv_bucket(bus.js, subjects.RECORDINGS_BUCKET))
    plugins = PluginStore(await kv_bucket(bus.js, subjects.PLUGINS_BUCKET))
    service = ReplayService(cfg, bus, recordings, plugins, clock)
    await service.start()
    return service


async def serve(cfg: Config, stop: asyncio.Event) -> None:
    bus = await open_bus(cfg.nats_url, "kapacitor-replay", cfg.cluster.replicas, cfg.alert.keep)
    clock = SystemClock()
    service = await open_service(cfg, bus, clock)
    presence = await join(bus.js, cfg, "replay", clock)
    log.info("replay ready")
    await stop.wait()
    await presence.leave()
    await service.stop()
    await bus.close(*service.tasks)


def main() -> None:
    run_service("replay", serve)
