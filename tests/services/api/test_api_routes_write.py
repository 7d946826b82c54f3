"""/write in-process: checks of the request, points stored in POINTS before the 204, bad lines
named, and a bus failure (503)."""

from __future__ import annotations

import gzip

import httpx

from kapacitor.bus import subjects
from kapacitor.model import decode_batch
from services.api.state import ApiState


async def test_a_write_is_in_the_points_stream_before_the_204(
    api: httpx.AsyncClient, state: ApiState
) -> None:
    r = await api.post("/write", params={"db": "telegraf", "rp": "rp"}, content=b"cpu v=1 1")
    assert r.status_code == 204
    stored = await state.bus.js.get_last_msg(subjects.POINTS_STREAM, subjects.POINTS_IN)
    assert (stored.headers or {})[subjects.H_MSG_ID].startswith("w.")
    batch = decode_batch(stored.data or b"")
    assert (batch.db, batch.rp, batch.time.tolist()) == ("telegraf", "rp", [1])


async def test_a_write_the_bus_cannot_store_is_503(api: httpx.AsyncClient, state: ApiState) -> None:
    await state.bus.nc.close()
    r = await api.post("/write", params={"db": "telegraf"}, content=b"cpu v=1 1")
    assert r.status_code == 503, r.text
    assert r.json()["error"].startswith("write not stored: "), r.text


async def test_bad_parameters_and_bodies_are_refused_before_ingest(
    api: httpx.AsyncClient,
) -> None:
    r = await api.post("/write", content=b"cpu v=1")
    assert (r.status_code, r.json()) == (400, {"error": "database is required: add ?db=NAME"})
    for precision in ("fortnight", "µ"):  # µ was once accepted here and refused later: 503
        r = await api.post("/write", params={"db": "x", "precision": precision}, content=b"cpu v=1")
        assert r.status_code == 400 and "invalid precision" in r.json()["error"]
    r = await api.post("/write", params={"db": "x"}, content=b"x" * 100_001)
    assert (r.status_code, r.json()) == (
        413,
        {"error": "request body too large: limit is 100000 bytes"},
    )
    r = await api.post(
        "/write",
        params={"db": "x"},
        content=b"garbage",
        headers={"Content-Encoding": "gzip"},
    )
    assert r.status_code == 400 and "invalid gzip body" in r.json()["error"]
    assert (await api.post("/write", params={"db": "x"}, content=b"  \n")).status_code == 204


async def test_writes_are_stored_and_bad_lines_named(api: httpx.AsyncClient) -> None:
    r = await api.post(
        "/kapacitor/v1/write",
        params={"db": "telegraf"},
        content=gzip.compress(b"cpu,host=a v=1 1\ncpu,host=b v=2 2\n"),
        headers={"Content-Encoding": "gzip"},
    )
    assert r.status_code == 204
    r = await api.post("/write", params={"db": "telegraf"}, content=b"cpu v=1 1\ncpu v=\n")
    assert r.status_code == 400
    doc = r.json()
    assert doc["error"].startswith("partial write: line 2: ")
    assert doc["error"].endswith("; 1 points accepted")
    assert (doc["accepted"], doc["rejected"], doc["errors"][0]["line"]) == (1, 1, 2)
