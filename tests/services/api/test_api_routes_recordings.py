"""/recordings in-process: import, show, export, delete; live recordings through the replay
service running in-process; refusals."""

from __future__ import annotations

import asyncio

import httpx

from kapacitor.replay.storage import HEADER_PREFIX
from services.ingest.service import IngestService
from services.replay.service import ReplayService

V1 = "/kapacitor/v1"
S = 1_000_000_000
FILE = b"".join(
    f"cpu,host=a value={v} {i * S}\n".encode() for i, v in enumerate([50.0, 10.0, 80.0])
)


async def test_import_show_export_and_delete(api: httpx.AsyncClient) -> None:
    r = await api.post(V1 + "/recordings/import", params={"id": "r1"}, content=FILE)
    assert r.status_code == 201
    info = r.json()
    assert (info["id"], info["kind"], info["status"], info["points"]) == (
        "r1",
        "file",
        "finished",
        3,
    )
    assert (await api.get(V1 + "/recordings/r1")).json() == info
    assert [x["id"] for x in (await api.get(V1 + "/recordings")).json()["recordings"]] == ["r1"]
    exported = (await api.get(V1 + "/recordings/r1/export")).content
    assert exported.startswith(HEADER_PREFIX) and exported.endswith(FILE)
    r = await api.post(V1 + "/recordings/import", params={"id": "r1"}, content=FILE)
    assert (r.status_code, r.json()) == (409, {"error": "a recording with id 'r1' exists already"})
    r = await api.post(V1 + "/recordings/r1/stop")
    assert (r.status_code, r.json()) == (
        409,
        {"error": "recording r1 is not running (it is finished)"},
    )
    assert (await api.delete(V1 + "/recordings/r1")).status_code == 204
    r = await api.get(V1 + "/recordings/r1")
    assert (r.status_code, r.json()) == (404, {"error": "no recording with id 'r1'"})


async def test_bad_imports_and_filters_are_400(api: httpx.AsyncClient) -> None:
    r = await api.post(V1 + "/recordings/import", content=b"cpu value=1 1\ncpu value=\n")
    assert r.status_code == 400
    assert r.json()["error"].startswith("line 2: ") and r.json()["errors"][0]["line"] == 2
    r = await api.post(V1 + "/recordings/import", content=b"# nothing\n")
    assert (r.status_code, r.json()) == (400, {"error": "the file holds no points"})
    r = await api.post(V1 + "/recordings/stream", json={"where": "host ="})
    assert r.status_code == 400 and r.json()["error"].startswith("where 1:")
    r = await api.post(V1 + "/recordings/stream", json={"duration": -1})
    assert r.status_code == 400 and r.json()["error"].startswith("invalid request")


async def test_asking_for_a_recording_without_replay_service_is_503(
    api: httpx.AsyncClient,
) -> None:
    r = await api.post(V1 + "/recordings/stream", json={"from": "cpu"})
    assert (r.status_code, r.json()) == (503, {"error": "no replay service is running"})


async def test_a_live_recording_keeps_what_its_filter_matches(
    api: httpx.AsyncClient, ingest: IngestService, replayer: ReplayService
) -> None:
    r = await api.post(V1 + "/recordings/stream", json={"from": "cpu", "where": "host = 'a'"})
    assert r.status_code == 201
    info = r.json()
    assert (info["kind"], info["status"]) == ("stream", "running")
    assert info["source"] == "from='cpu' where=\"host = 'a'\""
    body = b"cpu,host=a value=1 1\ncpu,host=b value=2 2\nmem,host=a value=3 3\n"
    assert (await api.post("/write", params={"db": "telegraf"}, content=body)).status_code == 204
    rid = info["id"]
    for _ in range(100):  # the replay service sees the points once ingest stored them
        if replayer.live[rid].stats.points:
            break
        await asyncio.sleep(0.05)
    r = await api.post(f"{V1}/recordings/{rid}/stop")
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["points"], r.json()["measurements"]) == (
        "finished",
        1,
        ["cpu"],
    )
    r = await api.post(V1 + "/recordings/stream", json={"id": rid})
    assert r.status_code == 400
    assert r.json()["error"] == f"a recording with id {rid!r} exists already"
