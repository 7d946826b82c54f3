"""/plugins: define, list, show, enable/disable and delete plugins, and what their http_out()s
serve; /check a script."""

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
)
from kapacitor.bus import subjects
from kapacitor.errors import ConfigError, NotFound, PluginError
from kapacitor.http_out import HttpOutQuery, http_out_document
from kapacitor.plugins import PluginStats
from kapacitor.plugins.attached import (
    plugin_handlers,
    script_http_outs,
    script_influxdb_clusters,
    script_topics,
)
from services.api.openapi import json_body
from services.api.state import ApiState, api_state, ask_interpreters

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
    # What queries or writes an InfluxDB names one of this server's config.
    wanted = [("--query", d.cluster)] if d.scheduled else []
    wanted += [("influxdb_out()", name) for name in script_influxdb_clusters(d.script)]
    for what, cluster in wanted:
        try:
            api.cfg.influxdb_cluster(cluster)
        except ConfigError as e:
            raise PluginError(f"{what}: {e}") from None
    handlers = plugin_handlers(d, str(api.cfg.alert.webhook_timeout))
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
    handler's counters (sent, failed, retried, dropped) of the handlers that read its events
    (a topic's shared ones and its own, not another plugin's); the webhooks, its own and the
    server's, under topic "*"."""
    d = await api.plugins.get(name)
    doc = plugin_document(d, await api.stats.get(name))
    if handlers:
        doc["topics"] = [
            {
                "topic": topic,
                "handlers": [
                    {"id": h.id, "kind": h.kind, **msgspec.to_builtins(stats)}
                    for h in await api.handlers.list(topic)
                    if h.plugin in ("", name)
                    for stats in [await api.handlers.stats(topic, h.id)]
                ],
            }
            for topic in (*script_topics(d.name, d.script), subjects.EVERY_TOPIC)
        ]
        if not doc["topics"][-1]["handlers"]:
            doc["topics"].pop()
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


@router.get("/plugins/{name}/{endpoint}")
async def http_out(name: str, endpoint: str, api: Api) -> dict[str, Any]:
    """What the plugin's `http_out(..., "<endpoint>")` holds: each instance's latest values,
    as Kapacitor's httpOut serves them."""
    d = await api.plugins.get(name)
    if endpoint not in script_http_outs(d.script):
        raise NotFound(f'plugin {name!r} has no http_out(..., "{endpoint}")')
    query = msgspec.json.encode(HttpOutQuery(name, endpoint))
    answers, _ = await ask_interpreters(api, subjects.HTTP_OUT_QUERY, query)
    return http_out_document(answers)
