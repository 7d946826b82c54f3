"""The define request is built from the plugin model's fields, not from a list of its own."""

from __future__ import annotations

from kapacitor.cli.definition import DEFINITION_KEYS, define_body
from kapacitor.plugins import PluginDefinition


def test_definition_keys_are_the_models_user_settable_fields() -> None:
    assert DEFINITION_KEYS == (
        "from",
        "script",
        "where",
        "db",
        "rp",
        "group_by",
        "webhook",
        "expire",
        "max_instances",
        "query",
        "every",
        "cron",
        "period",
        "offset",
        "cluster",
    )


def test_define_body_names_the_plugin_and_sets_every_definition_key() -> None:
    d = PluginDefinition(
        name="p", from_="cpu", script="x", group_by=["host"], expire="1h", enabled=True
    )
    assert define_body(d) == {
        "name": "p",
        "from": "cpu",
        "script": "x",
        "where": "",
        "db": "",
        "rp": "",
        "group_by": ["host"],
        "webhook": "",
        "expire": "1h",
        "max_instances": 0,
        "query": "",
        "every": "",
        "cron": "",
        "period": "",
        "offset": "",
        "cluster": "",
    }
