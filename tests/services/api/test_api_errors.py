"""The status table at work: a bus that fails answers 503, whatever the route."""

from __future__ import annotations

import httpx

from services.api.state import ApiState


async def test_a_closed_bus_is_503_on_every_route(api: httpx.AsyncClient, state: ApiState) -> None:
    await state.bus.nc.close()
    for r in (
        await api.get("/kapacitor/v1/plugins"),
        await api.get("/kapacitor/v1/recordings/r1"),
        await api.post("/write", params={"db": "x"}, content=b"cpu v=1 1"),
    ):
        assert r.status_code == 503, r.text
        assert r.json()["error"]
