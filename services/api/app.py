"""The HTTP API (FastAPI) under /kapacitor/v1, plus InfluxDB-compatible /write and /ping.

Wiring only: definitions are validated by kapacitor.plugins, writes are parsed by the ingest
service (over NATS), state lives in JetStream.
"""

from __future__ import annotations

import asyncio
import time
import uuid
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from kapacitor import __version__
from kapacitor.bus import subjects
from kapacitor.bus.client import kv_bucket, setup, shutdown
from kapacitor.bus.plugin_store import PluginStore, StatsStore
from kapacitor.bus.recording_store import RecordingNotFound, RecordingStore
from kapacitor.clock import SystemClock
from kapacitor.config import DEFAULT_DB, DEFAULT_RP, Config
from kapacitor.errors import DslError, KapacitorError, PluginError, PluginNotFound
from kapacitor.ingest import PRECISIONS, decode_reply
from kapacitor.lineprotocol import split_body
from kapacitor.match.where import parse_where
from kapacitor.plugins import DefinitionErrors, PluginDefinition, PluginStats, validate_definition
from kapacitor.replay.recording import RecordingInfo, RecordingStats, new_recording_id
from kapacitor.replay.storage import export_lines, import_lines

INGEST_TIMEOUT_S = 60.0
REPLAY_TIMEOUT_S = 3600.0
V1 = "/kapacitor/v1"


class ApiError(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        self.status = status
        self.message = message
        self.extra = extra


class PluginBody(BaseModel):
    name: str
    from_: str = Field(alias="from")
    script: str
    where: str = ""
    db: str = ""
    rp: str = ""
    group_by: list[str] | None = None
    webhook: str = ""
    expire: str = ""
    max_instances: int = 0
    enabled: bool | None = None


class PluginPatch(BaseModel):
    enabled: bool | None = None


class CheckBody(BaseModel):
    script: str
    where: str = ""


class QueryRecordingBody(BaseModel):
    host: str
    query: str
    db: str = ""
    rp: str = ""
    username: str = ""
    password: str = ""
    id: str = ""


class StreamRecordingBody(BaseModel):
    from_: str = Field("", alias="from")
    where: str = ""
    db: str = ""
    rp: str = ""
    duration: float = 0.0
    id: str = ""


class ReplayBody(BaseModel):
    recording: str
    plugin: str
    send_alerts: bool = False
    speed: float = Field(0.0, ge=0.0)  # 0: as fast as possible; 1: recorded pace


class State:
    nc: Client
    js: JetStreamContext
    plugins: PluginStore
    stats: StatsStore
    recordings: RecordingStore


def plugin_json(d: PluginDefinition, stats: PluginStats | None) -> dict[str, Any]:
    doc: dict[str, Any] = msgspec.to_builtins(d)
    doc["link"] = {"rel": "self", "href": f"{V1}/plugins/{d.name}"}
    if stats is not None:
        doc["stats"] = {
            "points_processed": stats.points_processed,
            "points_skipped": stats.points_skipped,
            "alerts_fired": stats.alerts_fired,
            "errors": stats.errors,
            "last_error": stats.last_error,
            "instances": stats.instances,
            "instances_expired": stats.instances_expired,
            "state_bytes": stats.state_bytes,
            "points_refused": stats.points_refused,
        }
        doc.update(doc["stats"])
    return doc


def create_app(cfg: Config) -> FastAPI:
    state = State()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.nc, state.js = await setup(cfg.nats_url, "kapacitor-api")
        state.plugins = PluginStore(await kv_bucket(state.js, subjects.PLUGINS_BUCKET))
        state.stats = StatsStore(await kv_bucket(state.js, subjects.STATS_BUCKET))
        state.recordings = RecordingStore(
            state.js, await kv_bucket(state.js, subjects.RECORDINGS_BUCKET)
        )
        yield
        await shutdown(state.nc)

    app = FastAPI(title="Kapacitor", version=__version__, lifespan=lifespan)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": exc.message, **exc.extra}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors():
            loc = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
            parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
        return JSONResponse({"error": "invalid request: " + "; ".join(parts)}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(RecordingNotFound)
    async def _rnf(request: Request, exc: RecordingNotFound) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=404)

    @app.exception_handler(PluginNotFound)
    async def _nf(request: Request, exc: PluginNotFound) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=404)

    @app.exception_handler(KapacitorError)
    async def _kap(request: Request, exc: KapacitorError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=400)

    @app.middleware("http")
    async def _version_header(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers["X-Kapacitor-Version"] = __version__
        return response

    # ---- ping -------------------------------------------------------------------------
    @app.api_route("/ping", methods=["GET", "HEAD"], status_code=204)
    @app.api_route(V1 + "/ping", methods=["GET", "HEAD"], status_code=204)
    async def ping() -> Response:
        return Response(status_code=204)

    # ---- write ------------------------------------------------------------------------
    async def read_body(request: Request) -> bytes:
        limit = cfg.http.max_body_size
        gz = request.headers.get("content-encoding", "").lower() == "gzip"
        dec = zlib.decompressobj(wbits=47) if gz else None
        parts: list[bytes] = []
        size = 0
        try:
            async for chunk in request.stream():
                if dec is not None:
                    chunk = dec.decompress(chunk, limit + 1 - size)
                size += len(chunk)
                if size > limit:
                    raise ApiError(413, f"request body too large: limit is {limit} bytes")
                parts.append(chunk)
            if dec is not None:
                tail = dec.flush()
                size += len(tail)
                if size > limit:
                    raise ApiError(413, f"request body too large: limit is {limit} bytes")
                parts.append(tail)
        except zlib.error as e:
            raise ApiError(400, f"invalid gzip body: {e}") from None
        return b"".join(parts)

    @app.post(
        "/write", status_code=204, openapi_extra={"requestBody": {"content": {"text/plain": {}}}}
    )
    @app.post(
        V1 + "/write",
        status_code=204,
        openapi_extra={"requestBody": {"content": {"text/plain": {}}}},
    )
    async def write(
        request: Request, db: str = "", rp: str = "", precision: str = "ns"
    ) -> Response:
        """Line protocol, exactly as InfluxDB 1.x: 204 when every line is stored, 400 naming the
        bad lines otherwise (the good lines of the same body are kept)."""
        if not db:
            raise ApiError(400, "database is required: add ?db=NAME")
        if precision not in PRECISIONS:
            raise ApiError(400, f"invalid precision {precision!r}: use one of n, u, ms, s, m, h")
        body = await read_body(request)
        if not body.strip():
            return Response(status_code=204)
        rp = rp or cfg.ingest.default_rp
        now = str(time.time_ns())
        chunks = split_body(body, cfg.http.write_chunk_size)

        async def send(first_line: int, chunk: bytes) -> Any:
            headers = {
                subjects.H_DB: db,
                subjects.H_RP: rp,
                subjects.H_PRECISION: precision,
                subjects.H_FIRST_LINE: str(first_line),
                subjects.H_NOW: now,
            }
            try:
                msg = await state.nc.request(
                    subjects.INGEST_WRITE, chunk, timeout=INGEST_TIMEOUT_S, headers=headers
                )
            except NoRespondersError:
                raise ApiError(503, "no ingest service is running") from None
            except NatsTimeout:
                raise ApiError(503, "ingest service did not answer in time") from None
            return decode_reply(msg.data)

        replies = await asyncio.gather(*(send(f, c) for f, c in chunks))
        failures = [r.failure for r in replies if r.failure]
        accepted = sum(r.accepted for r in replies)
        errors = [e for r in replies for e in r.errors]
        if failures:
            raise ApiError(503, "write not stored: " + failures[0], accepted=accepted)
        if errors:
            first = errors[0]
            raise ApiError(
                400,
                f"partial write: line {first.line}: {first.message}"
                + (f" (and {len(errors) - 1} more bad lines)" if len(errors) > 1 else "")
                + f"; {accepted} points accepted",
                accepted=accepted,
                rejected=len(errors),
                errors=[{"line": e.line, "message": e.message} for e in errors],
            )
        return Response(status_code=204)

    # ---- plugins ----------------------------------------------------------------------
    @app.get(V1 + "/plugins")
    async def list_plugins() -> dict[str, Any]:
        out = []
        for d in await state.plugins.list():
            out.append(plugin_json(d, await state.stats.get(d.name)))
        return {"plugins": out}

    @app.post(V1 + "/plugins")
    async def define(body: PluginBody) -> dict[str, Any]:
        """Create or update (re-define) a plugin. Nothing is stored when script or where is bad."""
        now = time.time_ns()
        try:
            old: PluginDefinition | None = await state.plugins.get(body.name)
        except PluginNotFound:
            old = None
        d = PluginDefinition(
            name=body.name,
            from_=body.from_,
            script=body.script,
            where=body.where,
            db=body.db,
            rp=body.rp,
            group_by=body.group_by or None,
            webhook=body.webhook,
            expire=body.expire,
            max_instances=body.max_instances,
            enabled=body.enabled if body.enabled is not None else (old.enabled if old else False),
            created=old.created if old else now,
            modified=now,
            revision=(old.revision + 1) if old else 1,
        )
        try:
            validate_definition(d)
        except DefinitionErrors as e:
            raise ApiError(
                400,
                str(e),
                diagnostics=[
                    {
                        "part": part,
                        "line": err.span.line,
                        "col": err.span.col,
                        "message": err.message,
                        "rendered": err.render("script" if part == "script" else "where"),
                    }
                    for part, err in e.problems
                ],
            ) from None
        except PluginError as e:
            raise ApiError(400, str(e)) from None
        await state.plugins.put(d)
        return plugin_json(d, await state.stats.get(d.name))

    @app.post(V1 + "/check")
    async def check(body: CheckBody) -> dict[str, Any]:
        d = PluginDefinition(name="check", from_="check", script=body.script, where=body.where)
        try:
            validate_definition(d)
        except DefinitionErrors as e:
            return {
                "ok": False,
                "diagnostics": [
                    {
                        "part": part,
                        "line": err.span.line,
                        "col": err.span.col,
                        "message": err.message,
                        "rendered": err.render("script" if part == "script" else "where"),
                    }
                    for part, err in e.problems
                ],
            }
        return {"ok": True, "diagnostics": []}

    @app.get(V1 + "/plugins/{name}")
    async def show(name: str) -> dict[str, Any]:
        d = await state.plugins.get(name)
        return plugin_json(d, await state.stats.get(name))

    @app.patch(V1 + "/plugins/{name}")
    async def patch(name: str, body: PluginPatch) -> dict[str, Any]:
        d = await state.plugins.get(name)
        if body.enabled is not None and body.enabled != d.enabled:
            d = msgspec.structs.replace(d, enabled=body.enabled, modified=time.time_ns())
            await state.plugins.put(d)
        return plugin_json(d, await state.stats.get(name))

    @app.delete(V1 + "/plugins/{name}", status_code=204)
    async def delete(name: str) -> Response:
        await state.plugins.delete(name)
        await state.stats.delete(name)
        return Response(status_code=204)

    # ---- alerts -----------------------------------------------------------------------
    @app.get(V1 + "/alerts")
    async def alerts(plugin: str = "", limit: int = 100) -> dict[str, Any]:
        """The most recent alert events, newest last."""
        limit = max(1, min(limit, 10_000))
        try:
            info = await state.js.stream_info(subjects.ALERTS_STREAM)
        except NotFoundError:
            return {"alerts": []}
        first, last = info.state.first_seq, info.state.last_seq
        want = subjects.plugin_alerts(plugin) if plugin else None
        out: list[Any] = []
        seq = last
        scanned = 0
        while seq >= first and seq > 0 and len(out) < limit and scanned < 20 * limit:
            scanned += 1
            try:
                m = await state.js.get_msg(subjects.ALERTS_STREAM, seq)
            except NotFoundError:
                seq -= 1
                continue
            if want is None or m.subject == want:
                out.append(orjson.loads(m.data or b"{}"))
            seq -= 1
        out.reverse()
        return {"alerts": out}

    # ---- recordings -------------------------------------------------------------------
    async def ask_replay(verb: str, body: dict[str, Any], timeout: float = 30.0) -> Any:
        try:
            msg = await state.nc.request(
                subjects.replay_ctl(verb), orjson.dumps(body), timeout=timeout
            )
        except NoRespondersError:
            raise ApiError(503, "no replay service is running") from None
        except NatsTimeout:
            raise ApiError(504, "the replay service did not answer in time") from None
        doc = orjson.loads(msg.data)
        if isinstance(doc, dict) and doc.get("failure"):
            raise ApiError(400, str(doc["failure"]))
        return doc

    @app.get(V1 + "/recordings")
    async def list_recordings() -> dict[str, Any]:
        return {"recordings": [msgspec.to_builtins(r) for r in await state.recordings.list()]}

    @app.get(V1 + "/recordings/{rec_id}")
    async def get_recording(rec_id: str) -> dict[str, Any]:
        info: dict[str, Any] = msgspec.to_builtins(await state.recordings.get(rec_id))
        return info

    @app.delete(V1 + "/recordings/{rec_id}", status_code=204)
    async def delete_recording(rec_id: str) -> Response:
        await state.recordings.delete(rec_id)
        return Response(status_code=204)

    @app.post(V1 + "/recordings/query", status_code=201)
    async def record_query(body: QueryRecordingBody) -> Any:
        """Record what an InfluxQL query selects from an InfluxDB 1.x (runs in the background:
        poll GET /recordings/{id} until its status is finished or failed)."""
        return await ask_replay("record_query", body.model_dump())

    @app.post(V1 + "/recordings/stream", status_code=201)
    async def record_stream(body: StreamRecordingBody) -> Any:
        """Start recording the live stream (optionally narrowed); `duration` > 0 stops it."""
        if body.where.strip():
            try:
                parse_where(body.where)
            except DslError as e:
                raise ApiError(400, f"where {e}") from None
        return await ask_replay("record_stream", body.model_dump(by_alias=True))

    @app.post(V1 + "/recordings/{rec_id}/stop")
    async def stop_recording(rec_id: str) -> Any:
        info = await state.recordings.get(rec_id)
        if info.status != "running":
            raise ApiError(409, f"recording {rec_id} is not running (it is {info.status})")
        try:
            msg = await state.nc.request(subjects.replay_stop(rec_id), b"", timeout=10)
        except (NoRespondersError, NatsTimeout):
            # Its replay service is gone (restarted): keep what was stored and close it.
            info = msgspec.structs.replace(info, status="finished")
            await state.recordings.put(info)
            return msgspec.to_builtins(info)
        return orjson.loads(msg.data)

    @app.get(V1 + "/recordings/{rec_id}/export")
    async def export_recording(rec_id: str) -> StreamingResponse:
        """The recording as line protocol (with batch headers that keep db and rp)."""
        await state.recordings.get(rec_id)

        async def lines() -> AsyncIterator[bytes]:
            async for b in state.recordings.batches(rec_id):
                for chunk in export_lines([b]):
                    yield chunk

        return StreamingResponse(lines(), media_type="text/plain; charset=utf-8")

    @app.post(V1 + "/recordings/import", status_code=201)
    async def import_recording(request: Request, db: str = "", rp: str = "", id: str = "") -> Any:
        """A recording made from a line-protocol file (as `export` writes it)."""
        data = await read_body(request)
        batches, errors = import_lines(data, db=db or DEFAULT_DB, rp=rp or DEFAULT_RP)
        if errors:
            first = errors[0]
            raise ApiError(
                400,
                f"line {first.line}: {first.reason}"
                + (f" (and {len(errors) - 1} more bad lines)" if len(errors) > 1 else ""),
                errors=[{"line": e.line, "message": e.reason} for e in errors[:100]],
            )
        if not batches:
            raise ApiError(400, "the file holds no points")
        rid = id or new_recording_id(SystemClock())
        if await state.recordings.exists(rid):
            raise ApiError(409, f"a recording with id {rid!r} exists already")
        info = RecordingInfo(id=rid, kind="file", created=time.time_ns(), source="import")
        stats = RecordingStats()
        for b in batches:
            stats.add(b, await state.recordings.append(rid, b))
        info = msgspec.structs.replace(stats.apply(info), status="finished")
        await state.recordings.put(info)
        return msgspec.to_builtins(info)

    # ---- replays ------------------------------------------------------------------------
    @app.post(V1 + "/replays")
    async def run_replay(body: ReplayBody) -> StreamingResponse:
        """Replay a recording to a plugin in isolation. The answer is NDJSON: progress lines
        `{"done": n, "total": m}`, then `{"report": {...}}` (or `{"error": "..."}`)."""
        await state.recordings.get(body.recording)
        await state.plugins.get(body.plugin)
        replay_id = uuid.uuid4().hex
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        parts: dict[int, bytes] = {}

        async def on_progress(msg: Any) -> None:
            part = (msg.headers or {}).get(subjects.H_REPORT_PART)
            if part is not None:
                parts[int(part)] = msg.data
            else:
                queue.put_nowait(msg.data + b"\n")

        sub = await state.nc.subscribe(subjects.replay_progress(replay_id), cb=on_progress)
        request = {**body.model_dump(), "replay_id": replay_id}
        task = asyncio.ensure_future(ask_replay("replay", request, timeout=REPLAY_TIMEOUT_S))

        async def report() -> bytes:
            n = int(task.result()["report_parts"])
            for _ in range(100):  # the parts were flushed before the reply; let them land
                if len(parts) >= n:
                    break
                await asyncio.sleep(0.05)
            if len(parts) < n:
                raise ApiError(500, f"the replay report arrived incomplete ({len(parts)}/{n})")
            return b"".join(parts[i] for i in range(n))

        async def lines() -> AsyncIterator[bytes]:
            try:
                while not task.done():
                    getter = asyncio.ensure_future(queue.get())
                    done, _ = await asyncio.wait(
                        {getter, task}, return_when=asyncio.FIRST_COMPLETED
                    )
                    if getter in done:
                        yield getter.result()
                    else:
                        getter.cancel()
                try:
                    yield b'{"report":' + await report() + b"}\n"
                except ApiError as e:
                    yield orjson.dumps({"error": e.message}) + b"\n"
            finally:
                await sub.unsubscribe()

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    return app
