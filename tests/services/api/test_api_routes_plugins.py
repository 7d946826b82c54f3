"""/plugins and /check in-process: define and re-define, show, enable, delete, and refusals."""

from __future__ import annotations

import httpx

V1 = "/kapacitor/v1"
SCRIPT = "alert(avg(window(value, 10)), <, 30)\n"


async def test_define_show_enable_list_and_delete(api: httpx.AsyncClient) -> None:
    body = {"name": "idle", "from": "cpu", "script": SCRIPT, "where": "host = 'a'"}
    first = (await api.post(V1 + "/plugins", json=body)).json()
    assert (first["revision"], first["enabled"], first["from"]) == (1, False, "cpu")
    assert first["link"] == {"rel": "self", "href": V1 + "/plugins/idle"}
    assert first["stats"]["points_processed"] == first["points_processed"] == 0
    r = await api.patch(V1 + "/plugins/idle", json={"enabled": True})
    assert r.json()["enabled"] is True
    again = (await api.post(V1 + "/plugins", json=body | {"max_instances": "5"})).json()
    # A re-define is a new revision of the same plugin: created and enabled stay.
    assert (again["revision"], again["created"], again["enabled"]) == (2, first["created"], True)
    assert again["max_instances"] == 5
    shown = (await api.get(V1 + "/plugins/idle")).json()
    assert (shown["revision"], shown["where"]) == (2, "host = 'a'")
    assert [p["name"] for p in (await api.get(V1 + "/plugins")).json()["plugins"]] == ["idle"]
    assert (await api.delete(V1 + "/plugins/idle")).status_code == 204
    assert (await api.get(V1 + "/plugins")).json() == {"plugins": []}


async def test_unknown_plugins_are_404(api: httpx.AsyncClient) -> None:
    for r in (
        await api.get(V1 + "/plugins/nope"),
        await api.patch(V1 + "/plugins/nope", json={"enabled": True}),
        await api.delete(V1 + "/plugins/nope"),
    ):
        assert (r.status_code, r.json()) == (404, {"error": "no plugin named 'nope'"})


async def test_a_bad_script_is_400_with_line_and_column_and_nothing_is_stored(
    api: httpx.AsyncClient,
) -> None:
    body = {"name": "bad", "from": "cpu", "script": "# x\nalert(agv(value), <, 30)\n"}
    r = await api.post(V1 + "/plugins", json=body | {"where": "host ="})
    assert r.status_code == 400
    doc = r.json()
    assert doc["error"].startswith("script 2:7: unknown function 'agv'")
    script, where = doc["diagnostics"]
    assert (script["part"], script["line"], script["col"]) == ("script", 2, 7)
    assert script["rendered"].startswith("script:2:7: unknown function 'agv'")
    assert (where["part"], where["line"]) == ("where", 1)
    assert (await api.get(V1 + "/plugins")).json() == {"plugins": []}
    check = (await api.post(V1 + "/check", json={"script": body["script"]})).json()
    assert check["ok"] is False and check["diagnostics"][0]["col"] == 7
    assert (await api.post(V1 + "/check", json={"script": SCRIPT})).json() == {
        "ok": True,
        "diagnostics": [],
    }


async def test_bodies_that_are_not_definitions_are_400(api: httpx.AsyncClient) -> None:
    r = await api.post(V1 + "/plugins", content=b"{not json")
    assert r.status_code == 400 and r.json()["error"].startswith("invalid request")
    r = await api.post(V1 + "/plugins", json={"name": "x"})
    assert r.status_code == 400 and "script" in r.json()["error"]
    r = await api.post(V1 + "/plugins", json={"name": "x", "script": SCRIPT})
    assert r.status_code == 400 and "needs --from" in r.json()["error"]
    r = await api.post(V1 + "/plugins", json={"name": "a b", "from": "cpu", "script": SCRIPT})
    assert r.status_code == 400 and "invalid plugin name" in r.json()["error"]
    r = await api.post(V1 + "/plugins", json={"name": "", "from": "cpu", "script": SCRIPT})
    assert r.status_code == 400 and "invalid plugin name ''" in r.json()["error"]
    body = {"name": "x", "from": "cpu", "script": SCRIPT, "expire": "1e400h"}
    r = await api.post(V1 + "/plugins", json=body)
    assert r.status_code == 400 and "--expire must be" in r.json()["error"]
    r = await api.post("/write", params={"db": "t"}, content=b"m v=" + b"9" * 5000 + b"i 1")
    assert r.status_code == 400 and "integer out of range" in r.json()["error"]
    r = await api.get(V1 + "/alerts/history", params={"limit": "many"})
    assert r.status_code == 400 and r.json()["error"].startswith("invalid request: query.limit")
