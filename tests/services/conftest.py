"""The API in-process (httpx ASGITransport, lifespan run by hand) on a real nats-server, with
the ingest and replay services running in-process on their own bus connections."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from kapacitor.bus.client import NatsBus, open_bus
from kapacitor.clock import SystemClock
from kapacitor.config import Config, load_config
from services.api.app import create_app
from services.api.state import ApiState
from services.ingest.service import IngestService
from services.replay.service import ReplayService, open_service


@pytest.fixture
def cfg(nats_url: str, tmp_path: Path) -> Config:
    return load_config(
        env={
            "KAPACITOR_NATS_URL": nats_url,
            "KAPACITOR_DATA_DIR": str(tmp_path / "data"),
            "KAPACITOR_HTTP_MAX_BODY_SIZE": "100000",
        }
    )


@pytest.fixture
async def app(cfg: Config) -> AsyncIterator[FastAPI]:
    """The API app with its lifespan entered (ASGITransport does not run it)."""
    app = create_app(cfg)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kapacitor") as c:
        yield c


@pytest.fixture
def state(app: FastAPI) -> ApiState:
    api_state: ApiState = app.state.api
    return api_state


@pytest.fixture
async def ingest(cfg: Config) -> AsyncIterator[IngestService]:
    bus = await open_bus(cfg.nats_url, "test-ingest")
    service = IngestService(cfg, bus, SystemClock())
    await service.start()
    await bus.flush()
    yield service
    await service.stop()
    await bus.close()


@pytest.fixture
async def replayer(cfg: Config) -> AsyncIterator[ReplayService]:
    bus: NatsBus = await open_bus(cfg.nats_url, "test-replay")
    service = await open_service(cfg, bus, SystemClock())
    await bus.flush()
    yield service
    await service.stop()
    await bus.close(*service.tasks)
    await asyncio.sleep(0)
