"""POST /write: line protocol, exactly as InfluxDB 1.x, parsed and stored by ingest (over NATS)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from kapacitor.api import V1
from kapacitor.bus import subjects
from kapacitor.ingest import WriteRequest, check_write_params, decode_reply, write_outcome
from kapacitor.lineprotocol import split_body
from services.api.body import read_body
from services.api.state import ApiState, api_state

INGEST_TIMEOUT_S = 60.0
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
    same body are kept), 503 when it could not be stored at all."""
    check_write_params(db, precision)
    body = await read_body(request, api)
    if not body.strip():
        return Response(status_code=204)
    rp = rp or api.cfg.ingest.default_rp
    now = api.clock.now_ns()
    chunks = split_body(body, api.cfg.http.write_chunk_size)
    answers = await asyncio.gather(
        *(
            api.bus.request(
                subjects.INGEST_WRITE,
                chunk,
                timeout=INGEST_TIMEOUT_S,
                headers=WriteRequest(
                    db=db, rp=rp, precision=precision, first_line=first, now_ns=now
                ).headers(),
                responder="ingest service",
            )
            for first, chunk in chunks
        )
    )
    write_outcome([decode_reply(a.data) for a in answers])
    return Response(status_code=204)
