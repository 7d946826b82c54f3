"""/recordings: record from InfluxDB or the live stream (asked of the replay service), list,
show, stop, export, import and delete recordings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse

from kapacitor.api import V1
from kapacitor.api.plugins import decode_body
from kapacitor.config import DEFAULT_DB, DEFAULT_RP
from kapacitor.errors import Conflict
from kapacitor.replay.messages import RecordPlugin, RecordQuery, RecordStream
from kapacitor.replay.recording import RecordingInfo, new_recording_id
from kapacitor.replay.storage import export_lines, imported_batches
from services.api.body import read_body
from services.api.openapi import json_body
from services.api.state import ApiState, api_state

router = APIRouter(prefix=V1)
Api = Annotated[ApiState, Depends(api_state)]


@router.get("/recordings")
async def list_recordings(api: Api) -> dict[str, Any]:
    return {"recordings": [msgspec.to_builtins(r) for r in await api.recordings.list()]}


@router.get("/recordings/{rec_id}")
async def get_recording(rec_id: str, api: Api) -> dict[str, Any]:
    info: dict[str, Any] = msgspec.to_builtins(await api.recordings.get(rec_id))
    return info


@router.delete("/recordings/{rec_id}", status_code=204)
async def delete_recording(rec_id: str, api: Api) -> Response:
    await api.recordings.delete(rec_id)
    return Response(status_code=204)


@router.post("/recordings/query", status_code=201, openapi_extra=json_body(RecordQuery))
async def record_query(request: Request, api: Api) -> Any:
    """Record what an InfluxQL query selects from an InfluxDB 1.x (runs in the background:
    poll GET /recordings/{id} until its status is finished or failed)."""
    req = decode_body(await request.body(), RecordQuery)
    return msgspec.to_builtins(await api.replay.record(req))


@router.post("/recordings/plugin", status_code=201, openapi_extra=json_body(RecordPlugin))
async def record_plugin(request: Request, api: Api) -> Any:
    """Record what a scheduled plugin's ticks of the last `past` seconds select (runs in the
    background, as /recordings/query does)."""
    req = decode_body(await request.body(), RecordPlugin)
    return msgspec.to_builtins(await api.replay.record(req))


@router.post("/recordings/stream", status_code=201, openapi_extra=json_body(RecordStream))
async def record_stream(request: Request, api: Api) -> Any:
    """Start recording the live stream (optionally narrowed); `duration` > 0 stops it."""
    req = decode_body(await request.body(), RecordStream)
    req.check_where()
    return msgspec.to_builtins(await api.replay.record(req))


@router.post("/recordings/{rec_id}/stop")
async def stop_recording(rec_id: str, api: Api) -> Any:
    info = await api.recordings.get(rec_id)
    if info.status != "running":
        raise Conflict(f"recording {rec_id} is not running (it is {info.status})")
    stopped = await api.replay.stop(rec_id)
    if stopped is None:  # its replay service is gone (restarted): keep what was stored
        stopped = await api.recordings.close(info)
    return msgspec.to_builtins(stopped)


@router.get("/recordings/{rec_id}/export")
async def export_recording(rec_id: str, api: Api) -> StreamingResponse:
    """The recording as line protocol (with batch headers that keep db and rp)."""
    await api.recordings.get(rec_id)

    async def lines() -> AsyncIterator[bytes]:
        async for b in api.recordings.batches(rec_id):
            for chunk in export_lines([b]):
                yield chunk

    return StreamingResponse(lines(), media_type="text/plain; charset=utf-8")


@router.post("/recordings/import", status_code=201)
async def import_recording(
    request: Request, api: Api, db: str = "", rp: str = "", id: str = ""
) -> Any:
    """A recording made from a line-protocol file (as `export` writes it)."""
    batches = imported_batches(
        await read_body(request, api),
        db=db or DEFAULT_DB,
        rp=rp or DEFAULT_RP,
        now_ns=api.clock.now_ns(),
    )
    rid = id or new_recording_id(api.clock)
    if await api.recordings.exists(rid):
        raise Conflict(f"a recording with id {rid!r} exists already")
    info = RecordingInfo(id=rid, kind="file", created=api.clock.now_ns(), source="import")
    return msgspec.to_builtins(await api.recordings.store_all(info, batches))
