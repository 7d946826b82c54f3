"""/ping, and what every answer carries."""

from __future__ import annotations

import httpx

from kapacitor import __version__


async def test_ping_answers_204_with_the_version(api: httpx.AsyncClient) -> None:
    for path in ("/ping", "/kapacitor/v1/ping"):
        r = await api.get(path)
        assert (r.status_code, r.headers["X-Kapacitor-Version"]) == (204, __version__)
    assert (await api.head("/ping")).status_code == 204


async def test_unknown_routes_are_404_documents(api: httpx.AsyncClient) -> None:
    r = await api.get("/kapacitor/v1/nothing-here")
    assert r.status_code == 404 and "error" in r.json()
    assert "/kapacitor/v1/plugins" in (await api.get("/openapi.json")).json()["paths"]
