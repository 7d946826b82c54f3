from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from kapacitor.config import (
    SCHEMA,
    SECTIONS,
    Duration,
    load_config,
    parse_duration,
    render_config,
)
from kapacitor.errors import ConfigError


def test_defaults_need_no_file() -> None:
    cfg = load_config(env={})
    assert cfg.http.bind_address == ":9092"
    assert cfg.nats_url == ""
    assert cfg.data_dir == Path("~/.kapacitor").expanduser().resolve()
    assert cfg.alert_log == cfg.data_dir / "alerts.log"


def test_file_then_env_override(tmp_path: Path) -> None:
    f = tmp_path / "k.toml"
    f.write_text(
        'data_dir = "/srv/k"\n[http]\nbind-address = ":1234"\n[nats]\nurl = "nats://x:4222"\n'
    )
    cfg = load_config(f, env={"KAPACITOR_HTTP_BIND_ADDRESS": "127.0.0.1:9"})
    assert cfg.http.bind_address == "127.0.0.1:9"
    assert cfg.nats_url == "nats://x:4222"
    assert cfg.data_dir == Path("/srv/k")


def test_values_are_typed_per_key_and_durations_parsed_once(tmp_path: Path) -> None:
    f = tmp_path / "k.toml"
    f.write_text('[interpreter]\nstate-interval = "250ms"\nmax-instances = 7\n')
    cfg = load_config(f, env={"KAPACITOR_NATS_INPUT_ENABLED": "off", "KAPACITOR_NATS_PORT": "42"})
    assert cfg.interpreter.state_interval == Duration("250ms", 0.25)
    assert cfg.interpreter.state_interval.ns == 250_000_000
    assert cfg.interpreter.max_instances == 7
    assert cfg.interpreter.expire.ns == 0
    assert cfg.alert.webhook_timeout.seconds == 5.0
    assert cfg.nats_input.enabled is False
    assert cfg.nats.port == 42
    # what was written is what children and `kapacitord config` see
    assert cfg.with_overrides()["KAPACITOR_INTERPRETER_STATE_INTERVAL"] == "250ms"
    assert 'state-interval = "250ms"' in render_config(cfg)


def test_every_value_is_of_its_keys_type() -> None:
    cfg = load_config(env={})
    for key in SCHEMA:
        assert type(cfg.value(key)) is key.kind, key
        assert type(key.default) is key.kind, key


def test_every_section_is_an_attribute_of_the_config() -> None:
    cfg = load_config(env={})
    for section, cls in SECTIONS.items():
        if section:
            assert isinstance(getattr(cfg, section.replace("-", "_")), cls), section


def test_bad_duration_is_an_error_when_loading() -> None:
    with pytest.raises(ConfigError, match=r"env KAPACITOR_DAEMON_RESTART_BACKOFF_MAX: .*'soon'"):
        load_config(env={"KAPACITOR_DAEMON_RESTART_BACKOFF_MAX": "soon"})


def test_every_key_has_an_env_override() -> None:
    envs = [k.env for k in SCHEMA]
    assert len(envs) == len(set(envs))
    assert "KAPACITOR_DATA_DIR" in envs and "KAPACITOR_HTTP_BIND_ADDRESS" in envs


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[http]\nbind-adress = ':1'\n", "unknown key 'bind-adress' in [http]"),
        ("[htp]\n", "unknown section [htp]"),
        ("[http]\nmax-body-size = 'big'\n", "http_max_body_size must be int"),
        ("[alert]\nwebhook-timeout = 5\n", "alert_webhook_timeout must be duration"),
        ("[http\n", "config file"),
    ],
)
def test_bad_file_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "k.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_config(f, env={})


def test_bad_env_value() -> None:
    with pytest.raises(ConfigError, match="KAPACITOR_NATS_INPUT_ENABLED"):
        load_config(env={"KAPACITOR_NATS_INPUT_ENABLED": "maybe"})


def test_rendered_default_config_is_valid_toml_and_loads_back(tmp_path: Path) -> None:
    text = render_config()
    doc = tomllib.loads(text)
    assert doc["http"]["bind-address"] == ":9092"
    f = tmp_path / "k.toml"
    f.write_text(text)
    assert load_config(f, env={}).as_dict() == load_config(env={}).as_dict()


def test_kapacitord_config_command_prints_defaults() -> None:
    p = subprocess.run(
        [sys.executable, "-m", "kapacitor.daemon.main", "config"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        check=True,
    )
    assert tomllib.loads(p.stdout)["nats"]["url"] == ""
    assert "KAPACITOR_NATS_URL" in p.stdout


def test_kapacitord_rejects_bad_config_in_one_line(tmp_path: Path) -> None:
    f = tmp_path / "k.toml"
    f.write_text("[nope]\n")
    p = subprocess.run(
        [sys.executable, "-m", "kapacitor.daemon.main", "-config", str(f)],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 1
    assert p.stderr.strip().count("\n") == 0
    assert "unknown section [nope]" in p.stderr


@pytest.mark.parametrize(("text", "seconds"), [("500ms", 0.5), ("10s", 10), ("1m", 60), ("2", 2)])
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_parse_duration_rejects_garbage() -> None:
    with pytest.raises(ConfigError):
        parse_duration("soon")


def test_cluster_partitions_default_env_and_check() -> None:
    assert load_config(env={}).cluster.partitions == 32
    cfg = load_config(env={"KAPACITOR_CLUSTER_PARTITIONS": "8"})
    assert cfg.cluster.partitions == 8
    assert "[cluster]" in render_config() and "partitions = 32" in render_config()
    with pytest.raises(ConfigError, match="at least 1"):
        load_config(env={"KAPACITOR_CLUSTER_PARTITIONS": "0"})


def test_cluster_durations_default_and_override(tmp_path: Path) -> None:
    cfg = load_config(None, env={})
    assert cfg.cluster.lease_ttl == Duration("5s", 5.0)
    assert cfg.cluster.heartbeat == Duration("1s", 1.0)
    f = tmp_path / "k.toml"
    f.write_text('[cluster]\nlease-ttl = "2s"\n')
    cfg = load_config(f, env={"KAPACITOR_CLUSTER_HEARTBEAT": "500ms"})
    assert cfg.cluster.lease_ttl.seconds == 2.0
    assert cfg.cluster.heartbeat.seconds == 0.5


def test_nats_memory_limit_default_env_and_check() -> None:
    assert load_config(env={}).nats.memory_limit == 40 * 1024**2
    cfg = load_config(env={"KAPACITOR_NATS_MEMORY_LIMIT": "0"})
    assert cfg.nats.memory_limit == 0
    with pytest.raises(ConfigError, match="memory-limit must be 0 or more"):
        load_config(env={"KAPACITOR_NATS_MEMORY_LIMIT": "-1"})


@pytest.mark.parametrize("text", ["1e400h", "inf", "nan", "-infs"])
def test_durations_are_finite(text: str) -> None:
    with pytest.raises(ConfigError, match="invalid duration"):
        parse_duration(text)
