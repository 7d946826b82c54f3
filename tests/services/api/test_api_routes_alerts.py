"""/alerts in-process against a real NATS: the history from the ALERTS stream (newest first,
filtered), the current alerts asked of every interpreter, and silences."""

from __future__ import annotations

import httpx
import orjson

from kapacitor.alerting.current import encode_raised
from kapacitor.bus import subjects
from kapacitor.bus.interface import Message
from kapacitor.engine.events import RaisedAlert
from services.api.state import ApiState

V1 = "/kapacitor/v1"


async def store(state: ApiState, plugin: str, topic: str, *docs: dict[str, object]) -> None:
    await state.bus.store(
        subjects.plugin_alerts(plugin, topic),
        b"\n".join(orjson.dumps(d) for d in docs),
        stream=subjects.ALERTS_STREAM,
    )


async def test_history_newest_first_and_filtered(api: httpx.AsyncClient, state: ApiState) -> None:
    assert (await api.get(V1 + "/alerts/history")).json() == {"events": []}
    await store(state, "a", "", {"n": 0, "level": "CRITICAL"}, {"n": 1, "level": "OK"})
    await store(state, "b", "cpu", {"n": 2, "level": "CRITICAL"})
    await store(state, "a", "cpu", {"n": 3, "level": "WARNING"})
    await store(state, "ab", "", {"n": 4, "level": "CRITICAL"})

    async def ns(**params: object) -> list[object]:
        r = await api.get(V1 + "/alerts/history", params=params)
        assert r.status_code == 200, r.text
        return [d["n"] for d in r.json()["events"]]

    assert await ns() == [4, 3, 2, 1, 0]
    assert await ns(plugin="a") == [3, 1, 0]
    assert await ns(topic="cpu") == [3, 2]
    assert await ns(plugin="a", topic="cpu") == [3]
    assert await ns(level="critical", limit=2) == [4, 2]
    assert await ns(since="1h") == [4, 3, 2, 1, 0]
    for bad, what in [({"level": "LOUD"}, "unknown level"), ({"since": "-1h"}, "since:")]:
        r = await api.get(V1 + "/alerts/history", params=bad)
        assert r.status_code == 400 and what in r.json()["error"]


async def test_current_alerts_merge_every_interpreters_answer(
    api: httpx.AsyncClient, state: ApiState
) -> None:
    def alert(plugin: str, level: str, since: int) -> RaisedAlert:
        return RaisedAlert(
            id=f"{plugin}:x", plugin=plugin, instance="x", tags={}, level=level, since=since
        )

    async def answer(msg: Message) -> None:
        await msg.respond(
            encode_raised("m1", [alert("p", "WARNING", 5), alert("q", "CRITICAL", 9)])
        )

    empty = (await api.get(V1 + "/alerts")).json()
    assert empty == {"alerts": [], "interpreters": {"answered": 0, "running": 0}}
    sub = await state.bus.subscribe(subjects.ALERTS_QUERY, answer)
    try:
        doc = (await api.get(V1 + "/alerts")).json()
        assert [(a["plugin"], a["level"]) for a in doc["alerts"]] == [
            ("q", "CRITICAL"),
            ("p", "WARNING"),
        ]
        assert doc["interpreters"]["answered"] == 1
        only = (await api.get(V1 + "/alerts", params={"level": "warning"})).json()
        assert [a["plugin"] for a in only["alerts"]] == ["p"]
    finally:
        await sub.unsubscribe()


async def test_silences_create_list_expire(api: httpx.AsyncClient) -> None:
    r = await api.post(
        V1 + "/alerts/silences", json={"match": "host = 'a'", "for": "2h", "comment": "swap"}
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["active"] and made["ends"] - made["created"] == 2 * 3600 * 10**9
    listed = (await api.get(V1 + "/alerts/silences")).json()["silences"]
    assert [s["id"] for s in listed] == [made["id"]]
    assert (await api.get(f"{V1}/alerts/silences/{made['id']}")).json()["comment"] == "swap"
    r = await api.post(f"{V1}/alerts/silences/{made['id']}/expire")
    assert r.status_code == 200 and r.json()["active"] is False
    assert (await api.get(V1 + "/alerts/silences")).json() == {"silences": []}
    assert (
        len((await api.get(V1 + "/alerts/silences", params={"all": "true"})).json()["silences"])
        == 1
    )
    r = await api.get(V1 + "/alerts/silences/nope")
    assert r.status_code == 404
    for body, what in [
        ({"match": "host = ", "for": "1h"}, "silence match"),
        ({"match": "host = 'a'", "for": "9999d"}, "at most a year"),
        ({"match": "host = 'a'"}, "for"),
        ({"match": "host = 'a'", "for": "1h", "comment": "x" * 2000}, "comment"),
    ]:
        r = await api.post(V1 + "/alerts/silences", json=body)
        assert r.status_code == 400 and what in r.json()["error"], r.text
