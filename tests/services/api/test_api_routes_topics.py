"""/alerts/topics in-process on a real nats-server: topic handlers defined, replaced, read
with their counters, listed and deleted (with their ALERTS consumer); topics from handlers and
from their alerts' last events; bad definitions refused with a 400 naming the field."""

from __future__ import annotations

import httpx
import orjson
import pytest

from kapacitor.alerting.topic_handlers import HandlerStats
from kapacitor.bus import subjects
from services.api.state import ApiState

V1 = "/kapacitor/v1/alerts"
HANDLER = {"id": "ops", "kind": "post", "options": {"url": "http://127.0.0.1:9/x"}}


async def _consumers(state: ApiState) -> set[str]:
    return {c.name for c in await state.bus.js.consumers_info(subjects.ALERTS_STREAM)}


async def test_define_replace_show_list_delete(api: httpx.AsyncClient, state: ApiState) -> None:
    r = await api.post(f"{V1}/topics/cpu/handlers", json=HANDLER)
    assert r.status_code == 201, r.text
    assert r.json() == {**HANDLER, "topic": "cpu", "match": ""}
    assert subjects.handler_consumer("cpu", "ops") in await _consumers(state)

    again = dict(HANDLER, match="level = 'CRITICAL'")
    r = await api.post(f"{V1}/topics/cpu/handlers", json=again)
    assert r.status_code == 200 and r.json()["match"] == "level = 'CRITICAL'"

    await state.handlers.put_stats(HandlerStats(topic="cpu", id="ops", sent=3, dropped=1))
    got = (await api.get(f"{V1}/topics/cpu/handlers/ops")).json()
    assert got["stats"] == {
        "sent": 3,
        "failed": 0,
        "retried": 0,
        "dropped": 1,
        "skipped": 0,
        "suppressed": 0,
        "overrun": 0,
        "last_error": "",
    }

    r = await api.put(
        f"{V1}/topics/mem/handlers/log1", json={"kind": "log", "options": {"path": "/x"}}
    )
    assert r.status_code == 200, r.text
    everything = (await api.get(f"{V1}/topic-handlers")).json()["handlers"]
    assert [(h["topic"], h["id"]) for h in everything] == [("cpu", "ops"), ("mem", "log1")]
    of_cpu = (await api.get(f"{V1}/topics/cpu/handlers")).json()["handlers"]
    assert [h["id"] for h in of_cpu] == ["ops"]
    topics = (await api.get(f"{V1}/topics")).json()["topics"]
    assert topics == [
        {"id": "cpu", "level": "OK", "alerts": 0, "handlers": 1},
        {"id": "mem", "level": "OK", "alerts": 0, "handlers": 1},
    ]

    assert (await api.delete(f"{V1}/topics/cpu/handlers/ops")).status_code == 204
    assert subjects.handler_consumer("cpu", "ops") not in await _consumers(state)
    r = await api.get(f"{V1}/topics/cpu/handlers/ops")
    assert r.status_code == 404 and "no handler 'ops' on topic 'cpu'" in r.json()["error"]
    assert (await api.delete(f"{V1}/topics/cpu/handlers/ops")).status_code == 404


async def test_topics_show_the_last_event_of_each_alert(
    api: httpx.AsyncClient, state: ApiState
) -> None:
    def event(alert: str, level: str, t: int) -> dict[str, object]:
        return {"id": alert, "topic": "cpu", "level": level, "time_ns": t, "message": level}

    await state.topics.record(
        [event("p:a", "CRITICAL", 1), event("p:b", "WARNING", 2), event("p:a", "OK", 3)]
    )
    topic = (await api.get(f"{V1}/topics/cpu")).json()
    assert topic["level"] == "WARNING"
    assert [(e["id"], e["level"]) for e in topic["events"]] == [("p:a", "OK"), ("p:b", "WARNING")]
    assert (await api.get(f"{V1}/topics")).json()["topics"] == [
        {"id": "cpu", "level": "WARNING", "alerts": 2, "handlers": 0}
    ]
    assert (await api.delete(f"{V1}/topics/cpu")).status_code == 204
    assert (await api.get(f"{V1}/topics/cpu")).status_code == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "the body is not JSON"),
        (orjson.dumps({**HANDLER, "kind": "smoke-signal"}), "unknown kind 'smoke-signal'"),
        (orjson.dumps({**HANDLER, "options": {}}), "missing required field `url`"),
        (orjson.dumps({**HANDLER, "match": "level =~ 'x'"}), "match 1:"),
        (orjson.dumps({**HANDLER, "topic": "mem"}), "differs from 'cpu' in the URL"),
    ],
)
async def test_bad_definitions_are_400s_naming_the_problem(
    api: httpx.AsyncClient, state: ApiState, body: bytes, message: str
) -> None:
    r = await api.post(
        f"{V1}/topics/cpu/handlers", content=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and message in r.json()["error"], r.text
    assert await state.handlers.list() == []


async def test_a_bad_topic_name_in_the_url(api: httpx.AsyncClient) -> None:
    r = await api.get(f"{V1}/topics/a%20b")
    assert r.status_code == 400 and "may hold only letters" in r.json()["error"]
