"""[[influxdb]] and [[udp]]: sections that may appear several times, as in Kapacitor."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from kapacitor.config import TABLE_SCHEMA, DbRps, Duration, load_config, render_config
from kapacitor.errors import ConfigError

TWO_CLUSTERS = """
[[influxdb]]
  name = "main"
  default = true
  urls = ["http://a:8086", "http://b:8086"]
  username = "kap"
  password = "secret"
  subscription-protocol = "udp"
  subscriptions-sync-interval = "10s"
  [influxdb.subscriptions]
    telegraf = ["autogen", "weekly"]

[[influxdb]]
  name = "other"
  urls = ["https://c:8086"]
  token = "t0k"
  excluded-subscriptions = { _internal = ["monitor"] }

[[udp]]
  bind-address = "127.0.0.1:8089"
  database = "udpdb"
"""


def test_none_by_default() -> None:
    cfg = load_config(env={})
    assert cfg.influxdb == () and cfg.udp == ()
    with pytest.raises(ConfigError, match=r"add an \[\[influxdb\]\] section"):
        cfg.influxdb_cluster()


def test_tables_from_a_file(tmp_path: Path) -> None:
    f = tmp_path / "k.toml"
    f.write_text(TWO_CLUSTERS)
    cfg = load_config(f, env={})
    main, other = cfg.influxdb
    assert main.urls == ("http://a:8086", "http://b:8086")
    assert main.subscriptions == DbRps((("telegraf", ("autogen", "weekly")),))
    assert main.subscriptions_sync_interval == Duration("10s", 10.0)
    assert main.excluded_subscriptions == DbRps((("_kapacitor", ("autogen",)),))  # default
    assert other.excluded_subscriptions == DbRps((("_internal", ("monitor",)),))
    assert cfg.influxdb_cluster() is main and cfg.influxdb_cluster("other") is other
    with pytest.raises(ConfigError, match=r"no InfluxDB named 'x'.*main, other"):
        cfg.influxdb_cluster("x")
    assert cfg.udp[0].bind_address == "127.0.0.1:8089" and cfg.udp[0].buffer == 1000
    # what was written is what children (through env) and `kapacitord config` see
    again = load_config(env=cfg.with_overrides())
    assert again.influxdb == cfg.influxdb and again.udp == cfg.udp
    g = tmp_path / "again.toml"
    g.write_text(render_config(cfg))
    assert load_config(g, env={}).as_dict() == cfg.as_dict()


def test_subscribed_follows_subscriptions_and_exclusions(tmp_path: Path) -> None:
    f = tmp_path / "k.toml"
    f.write_text(TWO_CLUSTERS)
    main, other = load_config(f, env={}).influxdb
    assert main.subscribed("telegraf", "weekly") and not main.subscribed("telegraf", "daily")
    assert not main.subscribed("other", "autogen")
    assert other.subscribed("telegraf", "x") and other.subscribed("_kapacitor", "autogen")
    assert not other.subscribed("_internal", "monitor")
    assert (
        not load_config(env={"KAPACITOR_INFLUXDB_0_NAME": "d"})
        .influxdb[0]
        .subscribed("_kapacitor", "autogen")
    )


def test_env_overrides_as_kapacitor_spells_them(tmp_path: Path) -> None:
    # The docker-compose idiom: no file, the first cluster's first URL from env.
    cfg = load_config(env={"KAPACITOR_INFLUXDB_0_URLS_0": "http://influxdb:8086"})
    assert cfg.influxdb_cluster().urls == ("http://influxdb:8086",)
    assert cfg.influxdb_cluster().name == "default"
    f = tmp_path / "k.toml"
    f.write_text(TWO_CLUSTERS)
    cfg = load_config(
        f,
        env={
            "KAPACITOR_INFLUXDB_0_URLS_1": "http://z:8086",
            "KAPACITOR_INFLUXDB_1_URLS": "http://x:1, http://y:2",
            "KAPACITOR_INFLUXDB_1_SUBSCRIPTIONS": '{ db1 = ["rp1"] }',
            "KAPACITOR_INFLUXDB_2_NAME": "third",
            "KAPACITOR_INFLUXDB_2_ENABLED": "false",
            "KAPACITOR_UDP_0_BUFFER": "5",
        },
    )
    assert cfg.influxdb[0].urls == ("http://a:8086", "http://z:8086")
    assert cfg.influxdb[1].urls == ("http://x:1", "http://y:2")
    assert cfg.influxdb[1].subscriptions == DbRps((("db1", ("rp1",)),))
    assert cfg.influxdb[2].name == "third" and not cfg.influxdb[2].enabled
    assert cfg.udp[0].buffer == 5


def test_every_table_key_has_an_env_override() -> None:
    for section, keys in TABLE_SCHEMA.items():
        envs = [k.env_at(3) for k in keys.values()]
        assert len(envs) == len(set(envs))
        assert all(e.startswith(f"KAPACITOR_{section.upper()}_3_") for e in envs)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"KAPACITOR_INFLUXDB_1_NAME": "x"}, r"no \[\[influxdb\]\] 0 before it"),
        ({"KAPACITOR_INFLUXDB_0_URL": "x"}, r"\[\[influxdb\]\] has no key 'url'"),
        ({"KAPACITOR_INFLUXDB_0_URLS_2": "http://x"}, r"influxdb\[0\].urls has no item 1"),
        ({"KAPACITOR_INFLUXDB_0_URLS_0": "x"}, r"'x' is not an http\(s\) URL"),
        ({"KAPACITOR_INFLUXDB_0_SUBSCRIPTION_PROTOCOL": "tcp"}, "must be http, https or udp"),
        ({"KAPACITOR_INFLUXDB_0_SUBSCRIPTIONS": "telegraf"}, "KAPACITOR_INFLUXDB_0_SUBSCRIPTIONS"),
        ({"KAPACITOR_INFLUXDB_0_NAME": "a b"}, "may hold only letters"),
        ({"KAPACITOR_UDP_0_BUFFER": "lots"}, r"udp\[0\].buffer must be int"),
        (
            {"KAPACITOR_INFLUXDB_0_NAME": "a", "KAPACITOR_INFLUXDB_1_NAME": "b"},
            "mark one `default = true`",
        ),
        (
            {"KAPACITOR_INFLUXDB_0_NAME": "a", "KAPACITOR_INFLUXDB_1_NAME": "a"},
            "two .* named 'a'",
        ),
    ],
)
def test_bad_tables_name_the_problem(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(env=env)


def test_bad_table_in_a_file(tmp_path: Path) -> None:
    f = tmp_path / "k.toml"
    f.write_text('[[udp]]\nbind-adress = ":1"\n')
    with pytest.raises(ConfigError, match=r"unknown key 'bind-adress' in \[\[udp\]\] #1"):
        load_config(f, env={})


def test_default_render_shows_commented_examples() -> None:
    text = render_config()
    assert "# [[influxdb]]" in text and "KAPACITOR_INFLUXDB_0_URLS" in text
    assert "influxdb" not in tomllib.loads(text)
