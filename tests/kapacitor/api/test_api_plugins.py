"""Plugin definitions as the API handles them: bodies, revisions, enabling, documents."""

from __future__ import annotations

import orjson
import pytest

from kapacitor.api.plugins import (
    CheckBody,
    PluginBody,
    PluginPatch,
    check_document,
    decode_body,
    defined,
    enabled,
    plugin_document,
)
from kapacitor.errors import DefinitionErrors, PluginError, RequestError
from kapacitor.plugins import PluginStats

SCRIPT = "alert(avg(window(value, 10)), <, 30)\n"


def body(**kw: object) -> PluginBody:
    doc = {"name": "p", "from": "cpu", "script": SCRIPT} | kw
    return decode_body(orjson.dumps(doc), PluginBody)


def test_every_define_is_a_revision_that_keeps_creation_and_enabled() -> None:
    first = defined(body(), None, 100)
    assert (first.revision, first.created, first.modified, first.enabled) == (1, 100, 100, False)
    on = enabled(first, PluginPatch(enabled=True), 150)
    assert on is not None and (on.enabled, on.modified, on.created) == (True, 150, 100)
    again = defined(body(where="host = 'a'"), on, 200)
    assert (again.revision, again.created, again.modified, again.enabled) == (2, 100, 200, True)
    assert defined(body(enabled=False), again, 300).enabled is False
    assert enabled(again, PluginPatch(enabled=True), 400) is None  # nothing to store
    assert enabled(again, PluginPatch(), 400) is None


def test_bad_definitions_raise_before_anything_is_stored() -> None:
    with pytest.raises(DefinitionErrors):
        defined(body(script="alert(agv(value), <, 1)"), None, 1)
    with pytest.raises(PluginError, match="invalid plugin name"):
        defined(body(name="a b"), None, 1)


IDLE = "SELECT mean(usage_idle) AS idle FROM cpu GROUP BY host"


def test_scheduled_definitions() -> None:
    d = defined(body(**{"from": ""}, query=IDLE, every="1m", db="telegraf"), None, 1)
    assert d.scheduled and d.every == "1m"
    qualified = 'SELECT mean(v) AS v FROM "telegraf"."autogen"."cpu"'
    assert defined(body(**{"from": ""}, query=qualified, cron="*/5 * * * *"), None, 1).scheduled


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"query": IDLE, "every": "1m", "db": "t"}, "--from is for stream plugins"),
        ({"from": "", "query": IDLE, "every": "1m", "db": "t", "where": "a = 'b'"}, "--where"),
        ({"from": "", "query": IDLE, "every": "1m", "db": "t", "group_by": ["h"]}, "--group-by"),
        ({"from": "", "query": IDLE, "every": "1m"}, "name the database"),
        ({"from": "", "query": IDLE, "db": "t"}, "needs --every or --cron"),
        ({"from": "", "query": "SHOW DATABASES", "every": "1m", "db": "t"}, "SELECT"),
        ({"every": "1m", "offset": "5s"}, "--every, --offset: only for a scheduled plugin"),
        ({"from": "", "query": IDLE, "db": "t", "every": "1e400h"}, "--every '1e400h' is not"),
        ({"expire": "1e400h"}, "--expire must be a duration > 0 such as 1h, got '1e400h'"),
        ({"expire": "1000000d"}, r"got '1000000d' \(over 100 years\)"),
        ({"name": ""}, "invalid plugin name ''"),
    ],
)
def test_bad_scheduled_definitions(fields: dict[str, object], message: str) -> None:
    with pytest.raises(PluginError, match=message):
        defined(body(**fields), None, 1)


def test_bodies_decode_leniently_and_refuse_what_is_not_a_body() -> None:
    assert body(max_instances="5", group_by=[]).max_instances == 5
    assert defined(body(group_by=[]), None, 1).group_by is None
    with pytest.raises(RequestError, match=r"invalid request: .*`script`"):
        decode_body(b'{"name": "x", "from": "cpu"}', PluginBody)
    with pytest.raises(PluginError, match=r"needs --from MEASUREMENT \(or, scheduled"):
        defined(decode_body(b'{"name": "x", "script": "alert(v, >, 1)"}', PluginBody), None, 1)
    with pytest.raises(RequestError, match=r"^invalid request"):
        decode_body(b"{not json", CheckBody)


def test_check_and_plugin_documents() -> None:
    assert check_document(CheckBody(script=SCRIPT)) == {"ok": True, "diagnostics": []}
    bad = check_document(CheckBody(script=SCRIPT, where="host ="))
    assert bad["ok"] is False and bad["diagnostics"][0]["part"] == "where"
    d = defined(body(), None, 1)
    doc = plugin_document(d, PluginStats(plugin="p", revision=1, points_processed=7))
    assert (doc["name"], doc["from"], doc["revision"]) == ("p", "cpu", 1)
    assert doc["link"] == {"rel": "self", "href": "/kapacitor/v1/plugins/p"}
    assert doc["stats"]["points_processed"] == doc["points_processed"] == 7
    assert doc["stats"]["running_revision"] == 1  # the interpreter runs this definition
    assert "stats" not in plugin_document(d, None)
