"""The HTTP API (FastAPI) under /kapacitor/v1, plus InfluxDB-compatible /write and /ping.

Wiring only: one router per resource (services/api/routes), the domain in kapacitor.api,
kapacitor.ingest and kapacitor.replay, state in JetStream, errors mapped to statuses by one
table (kapacitor.api.status, installed as exception handlers by services/api/errors.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kapacitor import __version__
from kapacitor.bus.client import open_bus
from kapacitor.clock import Clock, SystemClock
from kapacitor.cluster.presence import join
from kapacitor.config import Config
from services.api import errors
from services.api.auth import Authenticate
from services.api.routes import (
    alerts,
    auth,
    cluster,
    ping,
    plugins,
    recordings,
    replays,
    topics,
    write,
)
from services.api.routes.auth import first_admin
from services.api.state import open_state


class VersionHeader:
    """X-Kapacitor-Version on every response, as Kapacitor sends it. A plain ASGI middleware:
    `@app.middleware("http")` runs each request in a task of its own behind memory streams,
    which cost more than a small /write's parsing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Kapacitor-Version"] = __version__
            await send(message)

        await self.app(scope, receive, with_version)


def create_app(cfg: Config, clock: Clock | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        bus = await open_bus(cfg.nats_url, "kapacitor-api", cfg.cluster.replicas, cfg.alert.keep)
        app.state.api = await open_state(cfg, bus, clock or SystemClock())
        await first_admin(app.state.api)
        presence = await join(bus.js, cfg, "api", app.state.api.clock)
        yield
        await presence.leave()
        await app.state.api.stats.close()
        await app.state.api.auth.close()
        await bus.close()

    app = FastAPI(title="Kapacitor", version=__version__, lifespan=lifespan)
    errors.install(app)

    app.add_middleware(Authenticate)
    app.add_middleware(VersionHeader)  # outermost: a 401 carries the version too

    for module in (ping, write, plugins, alerts, topics, recordings, replays, cluster, auth):
        app.include_router(module.router)
    return app
