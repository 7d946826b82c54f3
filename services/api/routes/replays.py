"""POST /replays: replay a recording to a plugin in isolation, streaming NDJSON."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from kapacitor.api import V1
from kapacitor.api.plugins import decode_body
from kapacitor.replay.messages import ReplayRequest
from services.api.openapi import json_body
from services.api.state import ApiState, api_state

router = APIRouter(prefix=V1)


@router.post("/replays", openapi_extra=json_body(ReplayRequest))
async def run_replay(
    request: Request, api: Annotated[ApiState, Depends(api_state)]
) -> StreamingResponse:
    """The answer is NDJSON: progress lines `{"done": n, "total": m}`, then
    `{"report": {...}}` (or `{"error": "..."}`)."""
    req = decode_body(await request.body(), ReplayRequest)
    await api.recordings.get(req.recording)
    await api.plugins.get(req.plugin)
    req = msgspec.structs.replace(req, replay_id=uuid.uuid4().hex)
    return StreamingResponse(api.replay.replay(req), media_type="application/x-ndjson")
