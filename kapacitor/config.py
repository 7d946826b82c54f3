"""Configuration: defaults, the TOML file, env overrides, in that order of precedence.

Every key is declared once in `SCHEMA` (section, key, default, comment); the loader, the env
overrides (`KAPACITOR_<SECTION>_<KEY>`, upper case, '-' -> '_') and `kapacitord config` all read
that one table, so a new key is one line here.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kapacitor.errors import ConfigError

DEFAULT_DATA_DIR = "~/.kapacitor"
DEFAULT_HTTP_BIND_ADDRESS = ":9092"
DEFAULT_UNIX_SOCKET = "kapacitor.sock"  # relative to data_dir
DEFAULT_MAX_BODY_SIZE = 25_000_000
DEFAULT_WRITE_CHUNK_SIZE = 512 * 1024
DEFAULT_DB = "telegraf"
DEFAULT_RP = "autogen"
DEFAULT_NATS_INPUT_SUBJECT = "telegraf"
DEFAULT_ALERT_LOG = "alerts.log"  # relative to data_dir
DEFAULT_WEBHOOK_TIMEOUT = "5s"
DEFAULT_STATS_INTERVAL = "1s"
DEFAULT_STATE_INTERVAL = "5s"
DEFAULT_EXPIRE = "0s"  # never
DEFAULT_MAX_INSTANCES = 0  # no limit
DEFAULT_FETCH_BATCH = 64
DEFAULT_RESTART_BACKOFF_MAX = "30s"
DEFAULT_SERVICES = ("ingest", "matcher", "interpreter", "replay", "api")
DEFAULT_CLI_URL = "http://localhost:9092"
DEFAULT_RECENT_ALERTS = 100
DEFAULT_POINTS_STREAM_MAX_BYTES = 2 * 1024**3

ALL_SERVICES = DEFAULT_SERVICES


@dataclass(frozen=True, slots=True)
class Key:
    section: str  # "" for top level
    name: str
    default: Any
    comment: str

    @property
    def env(self) -> str:
        parts = [self.section, self.name] if self.section else [self.name]
        return "KAPACITOR_" + "_".join(p.upper().replace("-", "_") for p in parts)


SCHEMA: tuple[Key, ...] = (
    Key("", "hostname", "localhost", "Name of this host in alerts and logs."),
    Key(
        "",
        "data_dir",
        DEFAULT_DATA_DIR,
        "Where JetStream data, the unix socket and the alert log live.",
    ),
    Key(
        "http",
        "bind-address",
        DEFAULT_HTTP_BIND_ADDRESS,
        "HTTP API address, host:port (empty host = all).",
    ),
    Key(
        "http",
        "unix-socket",
        DEFAULT_UNIX_SOCKET,
        "Unix socket of the API, relative to data_dir; empty to disable.",
    ),
    Key(
        "http",
        "max-body-size",
        DEFAULT_MAX_BODY_SIZE,
        "Largest /write body in bytes (after gzip); larger gets 413.",
    ),
    Key(
        "http",
        "write-chunk-size",
        DEFAULT_WRITE_CHUNK_SIZE,
        "A /write body is handed to ingest in chunks of at most this many bytes.",
    ),
    Key(
        "nats",
        "url",
        "",
        "NATS server to use; empty starts an embedded nats-server with JetStream.",
    ),
    Key(
        "nats",
        "server-bin",
        "",
        "Path of the nats-server binary for the embedded server; empty finds it.",
    ),
    Key("nats", "host", "127.0.0.1", "Address the embedded nats-server listens on."),
    Key("nats", "port", -1, "Port of the embedded nats-server; -1 picks a free one."),
    Key("ingest", "default-db", DEFAULT_DB, "Database for writes that name none (NATS input)."),
    Key("ingest", "default-rp", DEFAULT_RP, "Retention policy for writes that name none."),
    Key(
        "nats-input",
        "enabled",
        True,
        "Accept line protocol published on NATS (Telegraf outputs.nats).",
    ),
    Key("nats-input", "subject", DEFAULT_NATS_INPUT_SUBJECT, "Subject Telegraf publishes to."),
    Key("nats-input", "db", DEFAULT_DB, "Database given to points received on that subject."),
    Key(
        "nats-input", "rp", DEFAULT_RP, "Retention policy given to points received on that subject."
    ),
    Key(
        "nats-input", "precision", "ns", "Timestamp precision of those points (n, u, ms, s, m, h)."
    ),
    Key(
        "alert",
        "log",
        DEFAULT_ALERT_LOG,
        "Alert log (JSON lines), relative to data_dir; empty to disable.",
    ),
    Key(
        "alert",
        "webhook-url",
        "",
        "Every alert is POSTed as JSON here, unless the plugin sets its own.",
    ),
    Key("alert", "webhook-timeout", DEFAULT_WEBHOOK_TIMEOUT, "Timeout of one webhook POST."),
    Key(
        "interpreter",
        "stats-interval",
        DEFAULT_STATS_INTERVAL,
        "How often plugin counters are published.",
    ),
    Key(
        "interpreter",
        "state-interval",
        DEFAULT_STATE_INTERVAL,
        "How often changed plugin state (windows, alert levels) is saved for restarts.",
    ),
    Key(
        "interpreter",
        "expire",
        DEFAULT_EXPIRE,
        "Forget plugin instances silent this long (0s: never); define --expire overrides it.",
    ),
    Key(
        "interpreter",
        "max-instances",
        DEFAULT_MAX_INSTANCES,
        "Instances a plugin may hold (0: no limit); define --max-instances overrides it.",
    ),
    Key(
        "interpreter", "fetch-batch", DEFAULT_FETCH_BATCH, "Messages pulled from JetStream at once."
    ),
    Key("matcher", "fetch-batch", DEFAULT_FETCH_BATCH, "Messages pulled from JetStream at once."),
    Key(
        "daemon",
        "services",
        ",".join(DEFAULT_SERVICES),
        "Services kapacitord starts (comma separated).",
    ),
    Key(
        "daemon",
        "restart-backoff-max",
        DEFAULT_RESTART_BACKOFF_MAX,
        "Longest wait before restarting a crashed service.",
    ),
    Key("logging", "level", "INFO", "DEBUG, INFO, WARNING or ERROR."),
)

_BY_SECTION: dict[str, dict[str, Key]] = {}
for _k in SCHEMA:
    _BY_SECTION.setdefault(_k.section, {})[_k.name] = _k

_DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "u": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
    "d": 86400 * 10**9,
}


def parse_duration(text: str) -> float:
    """Seconds in a duration like '500ms', '10s', '1m'; a bare number means seconds."""
    t = text.strip()
    for unit in sorted(_DURATION_UNITS, key=len, reverse=True):
        if t.endswith(unit):
            num = t[: -len(unit)]
            try:
                return float(num) * _DURATION_UNITS[unit] / 1e9
            except ValueError:
                break
    try:
        return float(t)
    except ValueError:
        raise ConfigError(f"invalid duration {text!r} (expected e.g. 500ms, 10s, 1m)") from None


def _coerce(key: Key, value: Any, origin: str) -> Any:
    want = type(key.default)
    if want is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in (
            "true",
            "1",
            "yes",
            "on",
            "false",
            "0",
            "no",
            "off",
        ):
            return value.lower() in ("true", "1", "yes", "on")
    elif want is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
    elif want is str:
        if isinstance(value, str):
            return value
    raise ConfigError(
        f"{origin}: {key.env.removeprefix('KAPACITOR_').lower()} "
        f"must be {want.__name__}, got {value!r}"
    )


class Config:
    """Resolved configuration. `cfg.get("http", "bind-address")`; paths are already absolute."""

    def __init__(self, values: dict[tuple[str, str], Any], path: Path | None = None) -> None:
        self._values = values
        self.path = path

    def get(self, section: str, name: str) -> Any:
        try:
            return self._values[(section, name)]
        except KeyError:
            raise ConfigError(f"unknown config key [{section}] {name}") from None

    @property
    def data_dir(self) -> Path:
        return Path(str(self.get("", "data_dir"))).expanduser().resolve()

    def data_path(self, value: str) -> Path | None:
        """A path setting resolved against data_dir; None when the setting is empty."""
        if not value:
            return None
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.data_dir / p

    @property
    def nats_url(self) -> str:
        return str(self.get("nats", "url"))

    @property
    def unix_socket(self) -> Path | None:
        return self.data_path(str(self.get("http", "unix-socket")))

    @property
    def alert_log(self) -> Path | None:
        return self.data_path(str(self.get("alert", "log")))

    def duration(self, section: str, name: str) -> float:
        return parse_duration(str(self.get(section, name)))

    def with_overrides(self, **env: str) -> dict[str, str]:
        """Env vars that make a child process see exactly this config."""
        out = {}
        for key in SCHEMA:
            v = self._values[(key.section, key.name)]
            out[key.env] = str(v).lower() if isinstance(v, bool) else str(v)
        out.update(env)
        return out

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for (section, name), v in self._values.items():
            if section:
                out.setdefault(section, {})[name] = v
            else:
                out[name] = v
        return out


def load_config(path: str | Path | None = None, env: dict[str, str] | None = None) -> Config:
    """Defaults, then the TOML file (if any), then KAPACITOR_* env vars."""
    env = dict(os.environ) if env is None else env
    if path is None and env.get("KAPACITOR_CONFIG_PATH"):
        path = env["KAPACITOR_CONFIG_PATH"]
    values: dict[tuple[str, str], Any] = {(k.section, k.name): k.default for k in SCHEMA}
    file_path: Path | None = None
    if path is not None and str(path) != "/dev/null":
        file_path = Path(path).expanduser()
        try:
            doc = tomllib.loads(file_path.read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file {file_path} does not exist") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"config file {file_path}: {e}") from None
        for name, v in doc.items():
            if isinstance(v, dict):
                keys = _BY_SECTION.get(name)
                if keys is None or name == "":
                    raise ConfigError(f"{file_path}: unknown section [{name}]")
                for k2, v2 in v.items():
                    key = keys.get(k2)
                    if key is None:
                        raise ConfigError(f"{file_path}: unknown key {k2!r} in [{name}]")
                    values[(name, k2)] = _coerce(key, v2, str(file_path))
            else:
                key = _BY_SECTION[""].get(name)
                if key is None:
                    raise ConfigError(f"{file_path}: unknown top-level key {name!r}")
                values[("", name)] = _coerce(key, v, str(file_path))
    for key in SCHEMA:
        if key.env in env:
            values[(key.section, key.name)] = _coerce(key, env[key.env], f"env {key.env}")
    return Config(values, file_path)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_config(cfg: Config | None = None) -> str:
    """The whole config as commented TOML (defaults, or the values of `cfg`)."""
    lines = [
        "# kapacitord configuration. Every key can be overridden by an env var, shown per key.",
        "",
    ]
    for section, keys in _BY_SECTION.items():
        if section:
            lines.append(f"[{section}]")
        for key in keys.values():
            v = key.default if cfg is None else cfg.get(key.section, key.name)
            lines.append(f"  # {key.comment} (env {key.env})")
            lines.append(f"  {key.name} = {_toml_value(v)}")
        lines.append("")
    return "\n".join(lines)
