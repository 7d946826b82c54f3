"""/plugins: define, list, show, enable/disable and delete plugins; /check a script."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, Request, Response

from kapacitor.api import V1
from kapacitor.api.plugins import (
    CheckBody,
    PluginBody,
    PluginPatch,
    check_document,
    decode_body,
    defined,
    enabled,
    plugin_document,
    script_handlers,
    script_topics,
)
from kapacitor.plugins import PluginStats
from services.api.openapi import json_body
from services.api.state import ApiState, api_state

router = APIRouter(prefix=V1)
Api = Annotated[ApiState, Depends(api_state)]


@router.get("/plugins")
async def list_plugins(api: Api) -> dict[str, Any]:
    counted = await api.stats.all()
    return {
        "plugins": [
            plugin_document(d, counted.get(d.name) or PluginStats(plugin=d.name))
            for d in await api.plugins.list()
        ]
    }


@router.post("/plugins", openapi_extra=json_body(PluginBody))
async def define(request: Request, api: Api) -> dict[str, Any]:
    """Create or update (re-define) a plugin. Nothing is stored when script or where is bad."""
    body = decode_body(await request.body(), PluginBody)
    d = defined(body, await api.plugins.find(body.name), api.clock.now_ns())
    handlers = script_handlers(d.name, d.script)
    await api.handlers.define_owned(d.name, handlers)
    await api.plugins.put(d)
    await api.handlers.delete_owned(d.name, keep=handlers)
    return plugin_document(d, await api.stats.get(d.name))


@router.post("/check", openapi_extra=json_body(CheckBody))
async def check(request: Request) -> dict[str, Any]:
    return check_document(decode_body(await request.body(), CheckBody))


@router.get("/plugins/{name}")
async def show(name: str, api: Api, handlers: bool = False) -> dict[str, Any]:
    """A plugin; with `handlers=true` also the topics its alerts go to and each topic
    handler's counters (sent, failed, retried, dropped)."""
    d = await api.plugins.get(name)
    doc = plugin_document(d, await api.stats.get(name))
    if handlers:
        doc["topics"] = [
            {
                "topic": topic,
                "handlers": [
                    {"id": h.id, "kind": h.kind, **msgspec.to_builtins(stats)}
                    for h in await api.handlers.list(topic)
                    for stats in [await api.handlers.stats(topic, h.id)]
                ],
            }
            for topic in script_topics(d.name, d.script)
        ]
    return doc


@router.patch("/plugins/{name}", openapi_extra=json_body(PluginPatch))
async def patch(name: str, request: Request, api: Api) -> dict[str, Any]:
    d = await api.plugins.get(name)
    changed = enabled(d, decode_body(await request.body(), PluginPatch), api.clock.now_ns())
    if changed is not None:
        await api.plugins.put(changed)
        d = changed
    return plugin_document(d, await api.stats.get(name))


@router.delete("/plugins/{name}", status_code=204)
async def delete(name: str, api: Api) -> Response:
    await api.plugins.delete(name)
    await api.handlers.delete_owned(name)
    await api.stats.delete(name)
    return Response(status_code=204)
