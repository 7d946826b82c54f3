"""POST /write: line protocol, exactly as InfluxDB 1.x, parsed here and stored in the POINTS
stream before the 204."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from kapacitor.api import V1
from kapacitor.bus import subjects
from kapacitor.config import STORE_ACK_TIMEOUT_S
from kapacitor.errors import BusError, WriteNotStored
from kapacitor.ingest import Write, check_write_params
from kapacitor.lineprotocol import split_body
from services.api.body import read_body
from services.api.state import ApiState, api_state

TEXT_BODY: dict[str, Any] = {"requestBody": {"content": {"text/plain": {}}}}

router = APIRouter()


@router.post("/write", status_code=204, openapi_extra=TEXT_BODY)
@router.post(V1 + "/write", status_code=204, openapi_extra=TEXT_BODY)
async def write(
    request: Request,
    api: Annotated[ApiState, Depends(api_state)],
    db: str = "",
    rp: str = "",
    precision: str = "ns",
) -> Response:
    """204 when every line is stored, 400 naming the bad lines otherwise (the good lines of the
    same body are kept, unless a field has two types within a measurement: then, as in
    InfluxDB 1.x, none), 503 when it could not be stored at all."""
    check_write_params(db, precision)
    body = await read_body(request, api)
    if not body or body.isspace():
        return Response(status_code=204)
    w = Write(db, rp or api.cfg.ingest.default_rp, precision, api.clock.now_ns())
    for first, chunk in split_body(body, api.cfg.http.write_chunk_size):
        w.add_chunk(chunk, first)
        await asyncio.sleep(0)  # a big body does not hold up the other requests
    try:
        await api.bus.store_all(
            w.messages, stream=subjects.POINTS_STREAM, timeout=STORE_ACK_TIMEOUT_S
        )
    except BusError as e:
        raise WriteNotStored(f"write not stored: {e}", accepted=0) from e
    w.outcome()
    return Response(status_code=204)
