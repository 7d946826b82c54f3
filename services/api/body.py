"""Reading a request body as the config allows (kapacitor.api.body does the counting)."""

from __future__ import annotations

from fastapi import Request

from kapacitor.api.body import BodyReader
from services.api.state import ApiState


async def read_body(request: Request, api: ApiState) -> bytes:
    """The request body within http.max-body-size (gunzipped when so encoded)."""
    gz = request.headers.get("content-encoding", "").lower() == "gzip"
    reader = BodyReader(api.cfg.http.max_body_size, gzip=gz)
    async for chunk in request.stream():
        reader.feed(chunk)
    return reader.finish()
