"""/alerts in-process: the newest events from the ALERTS stream, optionally of one plugin."""

from __future__ import annotations

import httpx
import orjson

from kapacitor.bus import subjects
from services.api.state import ApiState


async def test_recent_alerts_newest_last_and_per_plugin(
    api: httpx.AsyncClient, state: ApiState
) -> None:
    assert (await api.get("/kapacitor/v1/alerts")).json() == {"alerts": []}
    for i, plugin in enumerate(["a", "b", "a", "a"]):
        await state.bus.store(
            subjects.plugin_alerts(plugin),
            orjson.dumps({"plugin": plugin, "n": i}),
            stream=subjects.ALERTS_STREAM,
        )
    everything = (await api.get("/kapacitor/v1/alerts")).json()["alerts"]
    assert [d["n"] for d in everything] == [0, 1, 2, 3]
    r = await api.get("/kapacitor/v1/alerts", params={"plugin": "a", "limit": 2})
    assert [d["n"] for d in r.json()["alerts"]] == [2, 3]
