"""Planning a subscription sync, without I/O."""

from __future__ import annotations

from kapacitor.config import load_config
from kapacitor.influx.subscriptions import (
    Subscription,
    plan,
    subscriptions_of,
    wanted,
)

NAME = "kapacitor-abc"
HERE = "http://k:9092"


def here(db: str, rp: str) -> str:
    return HERE


def test_creates_missing_keeps_right_drops_stale_and_changed() -> None:
    existing = [
        Subscription("a", "autogen", NAME, (HERE,)),  # right: kept
        Subscription("b", "autogen", NAME, ("http://old:9092",)),  # moved: dropped, re-made
        Subscription("gone", "autogen", NAME, (HERE,)),  # no longer wanted: dropped
        Subscription("a", "autogen", "someone", ("http://x:1",)),  # not ours: untouched
        Subscription("c", "autogen", "kapacitor-old", (HERE,)),  # sends here too: reported
    ]
    p = plan(NAME, [("a", "autogen"), ("b", "autogen"), ("c", "autogen")], existing, here)
    assert p.keep == (existing[0],)
    assert p.drop == (existing[1], existing[2])
    assert p.create == (("b", "autogen"), ("c", "autogen"))
    assert p.doubles == (existing[4],)


def test_wanted_follows_the_config() -> None:
    dbrps = [("telegraf", "autogen"), ("_kapacitor", "autogen"), ("x", "weekly")]
    cfg = load_config(env={"KAPACITOR_INFLUXDB_0_NAME": "d"}).influxdb[0]
    assert wanted(cfg, dbrps) == [("telegraf", "autogen"), ("x", "weekly")]
    only = load_config(env={"KAPACITOR_INFLUXDB_0_SUBSCRIPTIONS": '{ x = ["weekly"] }'}).influxdb[0]
    assert wanted(only, dbrps) == [("x", "weekly")]
    off = load_config(env={"KAPACITOR_INFLUXDB_0_DISABLE_SUBSCRIPTIONS": "true"}).influxdb[0]
    assert wanted(off, dbrps) == []
    # nothing wanted: every one of ours is dropped
    p = plan(NAME, wanted(off, dbrps), [Subscription("x", "weekly", NAME, (HERE,))], here)
    assert [s.db for s in p.drop] == ["x"] and p.create == ()


def test_statements_quote_names() -> None:
    s = Subscription('we"ird', "r'p", NAME, ("udp://h:1",))
    assert s.create() == (
        'CREATE SUBSCRIPTION "kapacitor-abc" ON "we\\"ird"."r\'p" DESTINATIONS ANY \'udp://h:1\''
    )
    assert s.drop() == 'DROP SUBSCRIPTION "kapacitor-abc" ON "we\\"ird"."r\'p"'


def test_reads_show_subscriptions() -> None:
    doc = {
        "results": [
            {
                "series": [
                    {
                        "name": "telegraf",
                        "columns": ["retention_policy", "name", "mode", "destinations"],
                        "values": [["autogen", NAME, "ANY", [HERE]]],
                    }
                ]
            }
        ]
    }
    assert subscriptions_of(doc) == [Subscription("telegraf", "autogen", NAME, (HERE,))]
    assert subscriptions_of({"results": [{}]}) == []
