from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from kapacitor.config import SCHEMA, load_config, parse_duration, render_config
from kapacitor.errors import ConfigError


def test_defaults_need_no_file() -> None:
    cfg = load_config(env={})
    assert cfg.get("http", "bind-address") == ":9092"
    assert cfg.nats_url == ""
    assert cfg.data_dir == Path("~/.kapacitor").expanduser().resolve()
    assert cfg.alert_log == cfg.data_dir / "alerts.log"


def test_file_then_env_override(tmp_path: Path) -> None:
    f = tmp_path / "k.toml"
    f.write_text(
        'data_dir = "/srv/k"\n[http]\nbind-address = ":1234"\n[nats]\nurl = "nats://x:4222"\n'
    )
    cfg = load_config(f, env={"KAPACITOR_HTTP_BIND_ADDRESS": "127.0.0.1:9"})
    assert cfg.get("http", "bind-address") == "127.0.0.1:9"
    assert cfg.nats_url == "nats://x:4222"
    assert cfg.data_dir == Path("/srv/k")


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
