"""/replays in-process: a recording replayed to a plugin by the replay service, as NDJSON."""

from __future__ import annotations

import json

import httpx

from services.replay.service import ReplayService

V1 = "/kapacitor/v1"
S = 1_000_000_000
VALUES = [50.0] * 10 + [10.0] * 15 + [80.0] * 10
FILE = "".join(f"cpu,host=a value={v} {i * S}\n" for i, v in enumerate(VALUES)).encode()
SCRIPT = "alert(avg(window(value, 10)), <, 30)\n"


async def test_replay_streams_progress_then_the_report(
    api: httpx.AsyncClient, replayer: ReplayService
) -> None:
    await api.post(V1 + "/recordings/import", params={"id": "rec"}, content=FILE)
    await api.post(V1 + "/plugins", json={"name": "p", "from": "cpu", "script": SCRIPT})
    r = await api.post(V1 + "/replays", json={"recording": "rec", "plugin": "p"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-ndjson"
    docs = [json.loads(line) for line in r.text.splitlines()]
    report = docs[-1]["report"]
    assert report["points_replayed"] == report["points_matched"] == len(VALUES)
    assert [a["level"] for a in report["alerts"]] == ["CRITICAL", "OK"]
    assert all(set(d) == {"done", "total"} for d in docs[:-1])


async def test_replay_of_what_does_not_exist_is_404_and_bad_speed_400(
    api: httpx.AsyncClient,
) -> None:
    r = await api.post(V1 + "/replays", json={"recording": "nope", "plugin": "p"})
    assert (r.status_code, r.json()) == (404, {"error": "no recording with id 'nope'"})
    await api.post(V1 + "/recordings/import", params={"id": "rec"}, content=FILE)
    r = await api.post(V1 + "/replays", json={"recording": "rec", "plugin": "p"})
    assert (r.status_code, r.json()) == (404, {"error": "no plugin named 'p'"})
    r = await api.post(V1 + "/replays", json={"recording": "rec", "plugin": "p", "speed": -1})
    assert r.status_code == 400 and r.json()["error"].startswith("invalid request")


async def test_a_replay_without_replay_service_ends_with_an_error_line(
    api: httpx.AsyncClient,
) -> None:
    await api.post(V1 + "/recordings/import", params={"id": "rec"}, content=FILE)
    await api.post(V1 + "/plugins", json={"name": "p", "from": "cpu", "script": SCRIPT})
    r = await api.post(V1 + "/replays", json={"recording": "rec", "plugin": "p"})
    assert r.json() == {"error": "no replay service is running"}
