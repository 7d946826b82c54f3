"""Configuration: defaults, the TOML file, env overrides, in that order of precedence.

Every key is declared once, as a typed field of its section's dataclass (default and comment
included); `SCHEMA` is derived from those fields, and the loader, the env overrides
(`KAPACITOR_<SECTION>_<KEY>`, upper case, '-' -> '_') and `kapacitord config` all read it, so a
new key is one field here. Values are checked and typed once, when loading: `cfg.http.bind_address`
is a str, `cfg.interpreter.state_interval` a `Duration` (parsed, with the text as written).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar, get_origin, get_type_hints

from kapacitor.errors import ConfigError
from kapacitor.outbound import DEFAULT_DENY_NETWORKS, OutboundPolicy, parse_networks

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
DEFAULT_TELEGRAM_URL = "https://api.telegram.org/bot"
DEFAULT_PAGERDUTY2_URL = "https://events.pagerduty.com/v2/enqueue"
DEFAULT_OPSGENIE2_URL = "https://api.opsgenie.com/v2/alerts"
DEFAULT_VICTOROPS_URL = "https://alert.victorops.com/integrations/generic/20131114/alert"
DEFAULT_PUSHOVER_URL = "https://api.pushover.net/1/messages.json"
# Messages (a batch's events of one topic each) the ALERTS stream keeps: the alert history
# and what a topic handler that is behind may still read.
DEFAULT_ALERTS_KEEP = 10_000
# Messages a topic handler may fall behind before it drops: well below DEFAULT_ALERTS_KEEP, so
# a handler that is behind drops (and counts) rather than finding its events removed.
DEFAULT_HANDLER_BACKLOG = 1_000
DEFAULT_HANDLER_BACKOFF = "1s"  # a topic handler's first wait before a retry; doubles
HANDLER_BACKOFF_CAP_S = 60.0  # the longest wait between two attempts
DEFAULT_STATS_INTERVAL = "1s"
DEFAULT_STATE_INTERVAL = "5s"
DEFAULT_EXPIRE = "0s"  # never
DEFAULT_MAX_INSTANCES = 0  # no limit
DEFAULT_FETCH_BATCH = 64
# A POINTS message is a whole write (up to thousands of points) and the matcher decodes a fetch
# at once: 16 of R1's keep its peak at 28 MB (64: 30-34 MB) at the same speed.
DEFAULT_MATCHER_FETCH_BATCH = 16
DEFAULT_JOIN_ROWS = 20_000
DEFAULT_JOIN_WAIT = "50ms"
DEFAULT_PARTITIONS = 32
DEFAULT_RESTART_BACKOFF_MAX = "30s"
DEFAULT_SERVICES = ("ingest", "matcher", "interpreter", "replay", "api")
DEFAULT_CLI_URL = "http://localhost:9092"
DEFAULT_RECENT_ALERTS = 100
DEFAULT_POINTS_STREAM_MAX_BYTES = 2 * 1024**3
DEFAULT_LEASE_TTL = "5s"
DEFAULT_HEARTBEAT = "1s"
DEFAULT_REPLICAS = 1
# The embedded nats-server's soft memory limit (Go's GOMEMLIMIT). Go hands memory back to the
# system only when pressed, so the server's RSS settles near this limit. During R1 (payloads
# compressed) it holds about 40 MB: 40 MiB gives 45 MB RSS at 0.4-0.7 CPU-s per million
# points; 48 MiB 54 MB at 0.5; 32 MiB 42 MB but 1.3 CPU-s (uncompressed and unlimited: 150 MB).
DEFAULT_NATS_MEMORY_LIMIT = 40 * 1024**2
# How long JetStream may take to acknowledge what a service stores (one publish or a batch of
# them): a server that died holding the acks must turn into a retry (a 503 for a write), not a
# minute-long hang.
STORE_ACK_TIMEOUT_S = 10.0
# A service asked to stop hands its work over (saves state, leaves the cluster) within this
# long, or exits anyway; orphaned (kapacitord died and took the embedded NATS with it), sooner.
SERVICE_STOP_S = 15.0
# A replay report lists this many alert events unless asked for more (all are counted, and all
# are sent with --send-alerts): a million points can raise tens of thousands.
REPLAY_REPORT_ALERTS = 1000
ORPHAN_STOP_S = 5.0
# The least time a delivered, unacknowledged message waits before it comes again. It is also
# how long a message lost on its way (a NATS server of a cluster dying) takes to come back,
# hence short; consumers wait longer when their own acknowledgements take longer.
ACK_WAIT_FLOOR_S = 20.0

ALL_SERVICES = DEFAULT_SERVICES

DEFAULT_INFLUXDB_NAME = "default"
DEFAULT_INFLUXDB_URL = "http://localhost:8086"
DEFAULT_INFLUXDB_TIMEOUT = "30s"
DEFAULT_SUBSCRIPTIONS_SYNC = "1m"
DEFAULT_UDP_BUFFER = 1000


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
    seconds: float | None = None
    for unit in sorted(_DURATION_UNITS, key=len, reverse=True):
        if t.endswith(unit):
            with contextlib.suppress(ValueError):
                seconds = float(t[: -len(unit)]) * _DURATION_UNITS[unit] / 1e9
            break
    else:
        with contextlib.suppress(ValueError):
            seconds = float(t)
    if seconds is None or not math.isfinite(seconds):  # "1e400h" is no duration either
        raise ConfigError(f"invalid duration {text!r} (expected e.g. 500ms, 10s, 1m)")
    return seconds


@dataclass(frozen=True, slots=True)
class Duration:
    """A duration setting: the text as written (what `kapacitord config` and child processes'
    env show) and its value, parsed once."""

    text: str
    seconds: float

    @classmethod
    def parse(cls, text: str) -> Duration:
        return cls(text, parse_duration(text))

    @property
    def ns(self) -> int:
        return int(self.seconds * 1e9)

    def __str__(self) -> str:
        return self.text


_V = TypeVar("_V")


def _setting(default: _V, comment: str) -> _V:
    """A config key of a section: its default and the comment `kapacitord config` prints."""
    return field(default=default, metadata={"comment": comment})


@dataclass(frozen=True, slots=True)
class TopConfig:
    hostname: str = _setting("localhost", "Name of this host in alerts and logs.")
    data_dir: str = _setting(
        DEFAULT_DATA_DIR, "Where JetStream data, the unix socket and the alert log live."
    )


@dataclass(frozen=True, slots=True)
class HttpConfig:
    bind_address: str = _setting(
        DEFAULT_HTTP_BIND_ADDRESS, "HTTP API address, host:port (empty host = all)."
    )
    unix_socket: str = _setting(
        DEFAULT_UNIX_SOCKET, "Unix socket of the API, relative to data_dir; empty to disable."
    )
    max_body_size: int = _setting(
        DEFAULT_MAX_BODY_SIZE, "Largest /write body in bytes (after gzip); larger gets 413."
    )
    write_chunk_size: int = _setting(
        DEFAULT_WRITE_CHUNK_SIZE,
        "A /write body is handed to ingest in chunks of at most this many bytes.",
    )
    https_enabled: bool = _setting(
        False, "Serve the HTTP API over TLS (the unix socket stays plain: it stays on the host)."
    )
    https_certificate: str = _setting(
        "", "PEM certificate (chain) of the HTTPS API, relative to data_dir."
    )
    https_private_key: str = _setting(
        "", "Its PEM private key, relative to data_dir (empty: in the certificate file)."
    )
    auth_enabled: bool = _setting(
        False,
        "Every route but /ping needs credentials (basic auth, a bearer token, or u/p): users and"
        " tokens with roles (kapacitor user / token). The unix socket stays open to whoever its"
        " file permissions let in.",
    )


@dataclass(frozen=True, slots=True)
class AuthConfig:
    admin_username: str = _setting(
        "", "An admin user made at start when there is no user yet (with admin-password)."
    )
    admin_password: str = _setting("", "Its password.")


@dataclass(frozen=True, slots=True)
class OutboundConfig:
    deny_networks: str = _setting(
        DEFAULT_DENY_NETWORKS,
        "Networks no topic handler, webhook or record --query may send to, comma separated"
        " (default: link-local and the clouds' metadata addresses); empty: none.",
    )

    def __post_init__(self) -> None:
        try:
            parse_networks(self.deny_networks)
        except ValueError as e:
            raise ConfigError(f"outbound.deny-networks: {e}") from None


@dataclass(frozen=True, slots=True)
class NatsConfig:
    url: str = _setting(
        "", "NATS server to use; empty starts an embedded nats-server with JetStream."
    )
    server_bin: str = _setting(
        "", "Path of the nats-server binary for the embedded server; empty finds it."
    )
    host: str = _setting("127.0.0.1", "Address the embedded nats-server listens on.")
    port: int = _setting(-1, "Port of the embedded nats-server; -1 picks a free one.")
    memory_limit: int = _setting(
        DEFAULT_NATS_MEMORY_LIMIT,
        "Soft memory limit of the embedded nats-server in bytes (Go's GOMEMLIMIT: past it the"
        " server collects garbage harder, it does not refuse messages); 0 for none.",
    )

    def __post_init__(self) -> None:
        if self.memory_limit < 0:
            raise ConfigError(f"nats.memory-limit must be 0 or more, got {self.memory_limit}")


@dataclass(frozen=True, slots=True)
class IngestConfig:
    default_db: str = _setting(DEFAULT_DB, "Database for writes that name none (NATS input).")
    default_rp: str = _setting(DEFAULT_RP, "Retention policy for writes that name none.")


@dataclass(frozen=True, slots=True)
class NatsInputConfig:
    enabled: bool = _setting(
        True, "Accept line protocol published on NATS (Telegraf outputs.nats)."
    )
    subject: str = _setting(DEFAULT_NATS_INPUT_SUBJECT, "Subject Telegraf publishes to.")
    db: str = _setting(DEFAULT_DB, "Database given to points received on that subject.")
    rp: str = _setting(DEFAULT_RP, "Retention policy given to points received on that subject.")
    precision: str = _setting("ns", "Timestamp precision of those points (n, u, ms, s, m, h).")


@dataclass(frozen=True, slots=True)
class AlertConfig:
    log: str = _setting(
        DEFAULT_ALERT_LOG, "Alert log (JSON lines), relative to data_dir; empty to disable."
    )
    webhook_url: str = _setting(
        "", "Every alert of every plugin is POSTed as JSON here (as well as to a plugin's own)."
    )
    webhook_timeout: Duration = _setting(
        Duration.parse(DEFAULT_WEBHOOK_TIMEOUT), "Timeout of one webhook POST."
    )
    keep: int = _setting(
        DEFAULT_ALERTS_KEEP,
        "Alert messages (each a batch's events of one topic) the alert stream keeps: the "
        "history, and what a handler that is behind may still read; older ones are removed.",
    )
    handler_backlog: int = _setting(
        DEFAULT_HANDLER_BACKLOG,
        "Alert messages a topic handler may fall behind its topic before it drops (and "
        "counts) their events; keep it well below alert.keep.",
    )
    handler_backoff: Duration = _setting(
        Duration.parse(DEFAULT_HANDLER_BACKOFF),
        "A topic handler's wait before its first retry of an event; doubled for each next.",
    )


# Server-wide settings of the topic handler kinds that talk to a service (Kapacitor's sections
# and key names): what a handler's options leave out comes from here (docs/alerts.md).


@dataclass(frozen=True, slots=True)
class SlackConfig:
    url: str = _setting("", "Slack incoming webhook URL.")
    channel: str = _setting("", "Channel of handlers that name none, e.g. #alerts.")
    username: str = _setting("kapacitor", "Name the messages are posted as.")
    icon_emoji: str = _setting("", "Emoji of the messages, e.g. :bell:.")


@dataclass(frozen=True, slots=True)
class TeamsConfig:
    channel_url: str = _setting("", "Microsoft Teams incoming webhook URL.")


@dataclass(frozen=True, slots=True)
class DiscordConfig:
    url: str = _setting("", "Discord webhook URL.")
    username: str = _setting("", "Name the messages are posted as (empty: the webhook's).")
    avatar_url: str = _setting("", "Avatar of the messages (empty: the webhook's).")
    timestamp: bool = _setting(False, "Whether embeds carry the event time.")


@dataclass(frozen=True, slots=True)
class TelegramConfig:
    url: str = _setting(DEFAULT_TELEGRAM_URL, "Telegram Bot API URL; the token follows it.")
    token: str = _setting("", "The bot's token.")
    chat_id: str = _setting("", "Chat of handlers that name none.")
    parse_mode: str = _setting("", "Markdown or HTML (empty: plain text).")
    disable_web_page_preview: bool = _setting(False, "No link previews in the messages.")
    disable_notification: bool = _setting(False, "Send the messages silently.")


@dataclass(frozen=True, slots=True)
class PagerDuty2Config:
    url: str = _setting(DEFAULT_PAGERDUTY2_URL, "PagerDuty Events API v2 URL.")
    routing_key: str = _setting("", "Integration (routing) key of handlers that name none.")


@dataclass(frozen=True, slots=True)
class OpsGenie2Config:
    url: str = _setting(DEFAULT_OPSGENIE2_URL, "OpsGenie Alert API v2 URL.")
    api_key: str = _setting("", "OpsGenie API key (sent as GenieKey).")
    teams: str = _setting("", "Teams to notify when a handler names none, comma separated.")
    recipients: str = _setting("", "Users to notify when a handler names none, comma separated.")
    recovery_action: str = _setting("notes", "What an OK event does to the alert: notes or close.")


@dataclass(frozen=True, slots=True)
class VictorOpsConfig:
    url: str = _setting(DEFAULT_VICTOROPS_URL, "VictorOps REST endpoint URL.")
    api_key: str = _setting("", "VictorOps API key (part of the URL).")
    routing_key: str = _setting("", "Routing key of handlers that name none.")
    json_data: bool = _setting(False, "Send the event as a JSON object, not a string.")


@dataclass(frozen=True, slots=True)
class PushoverConfig:
    url: str = _setting(DEFAULT_PUSHOVER_URL, "Pushover messages API URL.")
    token: str = _setting("", "The application's API token.")
    user_key: str = _setting("", "User or group key of handlers that name none.")


@dataclass(frozen=True, slots=True)
class SensuConfig:
    addr: str = _setting("", "host:port of the Sensu client socket.")
    source: str = _setting("Kapacitor", "Source of the checks when a handler names none.")
    handlers: str = _setting("", "Sensu handlers when a handler names none, comma separated.")


@dataclass(frozen=True, slots=True)
class AlertaConfig:
    url: str = _setting("", "Alerta API URL, e.g. https://alerta.example.com/api.")
    token: str = _setting("", "API token of handlers that name none.")
    token_prefix: str = _setting(
        "Bearer", "Authorization scheme of the token (Key for old Alerta)."
    )
    environment: str = _setting("", "Environment of handlers that name none.")
    origin: str = _setting("kapacitor", "Origin of the alerts.")


@dataclass(frozen=True, slots=True)
class ServiceNowConfig:
    url: str = _setting(
        "", "Event Management URL, e.g. https://<instance>.service-now.com/api/global/em/jsonv2."
    )
    username: str = _setting("", "User of basic authentication (empty: none).")
    password: str = _setting("", "Its password.")
    source: str = _setting("Kapacitor", "Source of the events when a handler names none.")


@dataclass(frozen=True, slots=True)
class BigPandaConfig:
    url: str = _setting("https://api.bigpanda.io/data/v2/alerts", "BigPanda Alerts API URL.")
    token: str = _setting("", "Its API token (Authorization: Bearer).")
    app_key: str = _setting("", "The integration's app key, when a handler names none.")
    auto_attributes: str = _setting(
        "tags", "What becomes attributes of every alert: tags, or nothing."
    )


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str = _setting("localhost", "SMTP server.")
    port: int = _setting(25, "Its port (587 for submission with STARTTLS, 465 for TLS).")
    username: str = _setting("", "User name to log in with (empty: no login).")
    password: str = _setting("", "Its password.")
    from_: str = _setting("", "From address of the mails.")
    to: str = _setting("", "Recipients of handlers that name none, comma separated.")
    no_verify: bool = _setting(False, "Accept a server certificate that does not verify.")


@dataclass(frozen=True, slots=True)
class MqttConfig:
    url: str = _setting("", "MQTT broker, tcp://host:port (ssl://host:port for TLS).")
    client_id: str = _setting("kapacitor", "Client id given to the broker.")
    username: str = _setting("", "User name at the broker (empty: none).")
    password: str = _setting("", "Its password.")


@dataclass(frozen=True, slots=True)
class InterpreterConfig:
    stats_interval: Duration = _setting(
        Duration.parse(DEFAULT_STATS_INTERVAL), "How often plugin counters are published."
    )
    state_interval: Duration = _setting(
        Duration.parse(DEFAULT_STATE_INTERVAL),
        "How often changed plugin state (windows, alert levels) is saved for restarts.",
    )
    expire: Duration = _setting(
        Duration.parse(DEFAULT_EXPIRE),
        "Forget plugin instances silent this long (0s: never); define --expire overrides it.",
    )
    max_instances: int = _setting(
        DEFAULT_MAX_INSTANCES,
        "Instances a plugin may hold (0: no limit); define --max-instances overrides it.",
    )
    fetch_batch: int = _setting(DEFAULT_FETCH_BATCH, "Messages pulled from JetStream at once.")
    join_rows: int = _setting(
        DEFAULT_JOIN_ROWS,
        "A plugin's consecutive batches of one fetch are joined up to this many rows and"
        " processed at once.",
    )
    join_wait: Duration = _setting(
        Duration.parse(DEFAULT_JOIN_WAIT),
        "How long a fetch waits for more messages (up to fetch-batch) to join them.",
    )


@dataclass(frozen=True, slots=True)
class MatcherConfig:
    fetch_batch: int = _setting(
        DEFAULT_MATCHER_FETCH_BATCH, "Messages pulled from JetStream at once."
    )
    join_rows: int = _setting(
        DEFAULT_JOIN_ROWS,
        "Consecutive batches of one fetch are joined up to this many rows before the split"
        " by partition (fewer, larger messages).",
    )
    join_wait: Duration = _setting(
        Duration.parse(DEFAULT_JOIN_WAIT),
        "How long a fetch waits for more messages (up to fetch-batch) to join them.",
    )


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    partitions: int = _setting(
        DEFAULT_PARTITIONS,
        "Partitions of the matched points (crc32 of plugin and instance key, mod this). Fixed"
        " for a deployment: see docs/cluster.md to change it.",
    )
    lease_ttl: Duration = _setting(
        Duration.parse(DEFAULT_LEASE_TTL),
        "How long a member and its partition leases outlive its last heartbeat (whole seconds).",
    )
    heartbeat: Duration = _setting(
        Duration.parse(DEFAULT_HEARTBEAT),
        "How often a member renews its membership and leases.",
    )
    replicas: int = _setting(
        DEFAULT_REPLICAS,
        "JetStream replicas of every stream and bucket: 3 on a NATS cluster of three or more"
        " servers, so that losing one loses nothing.",
    )

    def __post_init__(self) -> None:
        if self.partitions < 1:
            raise ConfigError(f"cluster.partitions must be at least 1, got {self.partitions}")
        if not 1 <= self.replicas <= 5:
            raise ConfigError(f"cluster.replicas must be 1 to 5, got {self.replicas}")


@dataclass(frozen=True, slots=True)
class DaemonConfig:
    services: str = _setting(
        ",".join(DEFAULT_SERVICES), "Services kapacitord starts (comma separated)."
    )
    restart_backoff_max: Duration = _setting(
        Duration.parse(DEFAULT_RESTART_BACKOFF_MAX),
        "Longest wait before restarting a crashed service.",
    )


@dataclass(frozen=True, slots=True)
class LoggingConfig:
    level: str = _setting("INFO", "DEBUG, INFO, WARNING or ERROR.")


# Sections that may appear several times (TOML arrays of tables, `[[influxdb]]`), as in
# Kapacitor; their env overrides carry the index: KAPACITOR_INFLUXDB_0_URLS_0.


class DbRps(tuple[tuple[str, tuple[str, ...]], ...]):
    """Retention policies by database, ((db, (rp, ...)), ...): a TOML table of lists."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class InfluxDBConfig:
    enabled: bool = _setting(True, "Use this InfluxDB (subscriptions, queries, outputs).")
    name: str = _setting(
        DEFAULT_INFLUXDB_NAME, "Name of the cluster (define --cluster, influxdb_out(cluster=))."
    )
    default: bool = _setting(
        False, "The cluster used when none is named (needed when several are enabled)."
    )
    urls: tuple[str, ...] = _setting(
        (DEFAULT_INFLUXDB_URL,), "Its HTTP API; the next URL is tried when one fails."
    )
    username: str = _setting("", "User of basic authentication (empty: none).")
    password: str = _setting("", "Its password.")
    token: str = _setting("", "A token sent as 'Authorization: Token ...' instead of a user.")
    ssl_ca: str = _setting("", "CA file to verify InfluxDB's certificate with (https).")
    ssl_cert: str = _setting("", "Client certificate file (https).")
    ssl_key: str = _setting("", "Its private key file.")
    insecure_skip_verify: bool = _setting(False, "Accept a certificate that does not verify.")
    timeout: Duration = _setting(
        Duration.parse(DEFAULT_INFLUXDB_TIMEOUT), "Timeout of one request to InfluxDB."
    )
    disable_subscriptions: bool = _setting(
        False, "Create no subscription (and remove those this kapacitord created)."
    )
    unsubscribe_on_stop: bool = _setting(
        False,
        "On a clean stop, remove this kapacitord's subscriptions (another running ingest makes"
        " them again at its next sync).",
    )
    subscription_protocol: str = _setting(
        "http", "How InfluxDB sends its writes here: http, https or udp."
    )
    subscriptions: DbRps = _setting(
        DbRps(), 'Subscribe only to these, e.g. { telegraf = ["autogen"] } (empty: every db/rp).'
    )
    excluded_subscriptions: DbRps = _setting(
        DbRps((("_kapacitor", ("autogen",)),)), "Never subscribe to these db/rp."
    )
    subscriptions_sync_interval: Duration = _setting(
        Duration.parse(DEFAULT_SUBSCRIPTIONS_SYNC), "How often subscriptions are checked."
    )
    kapacitor_hostname: str = _setting(
        "", "Host name InfluxDB calls back (empty: the top-level hostname)."
    )
    http_port: int = _setting(0, "Port InfluxDB calls back over http(s) (0: [http]'s port).")
    udp_bind: str = _setting(
        "", "Address of the UDP listeners of udp subscriptions, host only (empty: all)."
    )
    udp_buffer: int = _setting(DEFAULT_UDP_BUFFER, "Datagrams a UDP listener queues.")
    udp_read_buffer: int = _setting(0, "Socket receive buffer in bytes (0: the system's).")

    def __post_init__(self) -> None:
        if not _CLUSTER_NAME.fullmatch(self.name):
            raise ConfigError(
                f"influxdb name {self.name!r} may hold only letters, digits, '.', '-' and '_'"
            )
        if self.enabled and not self.urls:
            raise ConfigError(f"influxdb {self.name!r}: urls needs at least one URL")
        for url in self.urls:
            if not url.startswith(("http://", "https://")):
                raise ConfigError(f"influxdb {self.name!r}: {url!r} is not an http(s) URL")
        if self.subscription_protocol not in ("http", "https", "udp"):
            raise ConfigError(
                f"influxdb {self.name!r}: subscription-protocol must be http, https or udp,"
                f" got {self.subscription_protocol!r}"
            )
        if self.token and (self.username or self.password):
            raise ConfigError(f"influxdb {self.name!r}: give a token or a username, not both")

    def subscribed(self, db: str, rp: str) -> bool:
        """Whether db/rp is one this cluster's subscription should cover."""
        wanted = dict(self.subscriptions)
        excluded = dict(self.excluded_subscriptions)
        if wanted and rp not in wanted.get(db, ()):
            return False
        return rp not in excluded.get(db, ())


@dataclass(frozen=True, slots=True)
class UdpConfig:
    enabled: bool = _setting(True, "Listen.")
    bind_address: str = _setting(":8089", "host:port to listen on (empty host: all).")
    database: str = _setting(DEFAULT_DB, "Database given to the points received.")
    retention_policy: str = _setting(DEFAULT_RP, "Retention policy given to them.")
    precision: str = _setting("ns", "Timestamp precision of the lines (n, u, ms, s, m, h).")
    buffer: int = _setting(DEFAULT_UDP_BUFFER, "Datagrams queued before more are dropped.")
    read_buffer: int = _setting(0, "Socket receive buffer in bytes (0: the system's).")


_CLUSTER_NAME = re.compile(r"[-._\w]+")

# Table section name -> its dataclass.
TABLE_SECTIONS: dict[str, type[Any]] = {"influxdb": InfluxDBConfig, "udp": UdpConfig}


# Section name ("" for the top level) -> its dataclass, in the order `kapacitord config` prints.
SECTIONS: dict[str, type[Any]] = {
    "": TopConfig,
    "http": HttpConfig,
    "auth": AuthConfig,
    "outbound": OutboundConfig,
    "nats": NatsConfig,
    "ingest": IngestConfig,
    "nats-input": NatsInputConfig,
    "alert": AlertConfig,
    "slack": SlackConfig,
    "teams": TeamsConfig,
    "discord": DiscordConfig,
    "telegram": TelegramConfig,
    "pagerduty2": PagerDuty2Config,
    "opsgenie2": OpsGenie2Config,
    "victorops": VictorOpsConfig,
    "pushover": PushoverConfig,
    "sensu": SensuConfig,
    "alerta": AlertaConfig,
    "servicenow": ServiceNowConfig,
    "bigpanda": BigPandaConfig,
    "smtp": SmtpConfig,
    "mqtt": MqttConfig,
    "interpreter": InterpreterConfig,
    "matcher": MatcherConfig,
    "cluster": ClusterConfig,
    "daemon": DaemonConfig,
    "logging": LoggingConfig,
}


@dataclass(frozen=True, slots=True)
class Key:
    section: str  # "" for top level
    name: str
    default: Any
    comment: str
    kind: type[Any]  # str, int, bool, Duration or tuple (a list, or a table of lists)
    attr: str  # the field of the section's dataclass
    hint: Any = None  # the field's full type, for a tuple

    @property
    def env(self) -> str:
        parts = [self.section, self.name] if self.section else [self.name]
        return "KAPACITOR_" + "_".join(_env_word(p) for p in parts)

    def env_at(self, index: int) -> str:
        """The env override of this key of a table section's element `index`."""
        return f"KAPACITOR_{_env_word(self.section)}_{index}_{_env_word(self.name)}"


def _env_word(name: str) -> str:
    return name.upper().replace("-", "_")


def _keys_of(section: str, cls: type[Any]) -> list[Key]:
    hints = get_type_hints(cls)
    # Keys in sections are spelled with '-', top-level ones as Kapacitor spells them (data_dir).
    return [
        Key(
            section,
            f.name.rstrip("_").replace("_", "-") if section else f.name,  # from_: "from"
            f.default,
            f.metadata["comment"],
            get_origin(hints[f.name]) or hints[f.name],
            f.name,
            hints[f.name],
        )
        for f in fields(cls)
    ]


SCHEMA: tuple[Key, ...] = tuple(
    k for section, cls in SECTIONS.items() for k in _keys_of(section, cls)
)

_BY_SECTION: dict[str, dict[str, Key]] = {}
for _k in SCHEMA:
    _BY_SECTION.setdefault(_k.section, {})[_k.name] = _k

# Table section -> its keys by name.
TABLE_SCHEMA: dict[str, dict[str, Key]] = {
    section: {k.name: k for k in _keys_of(section, cls)} for section, cls in TABLE_SECTIONS.items()
}


def _coerce(key: Key, value: Any, origin: str, label: str = "") -> Any:
    """`value` (from TOML or env) as the key's type; ConfigError naming where it came from."""
    want = key.kind
    label = label or key.env.removeprefix("KAPACITOR_").lower()
    if want is tuple or want is DbRps:
        return _coerce_tuple(key, value, origin, label)
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
    elif want is Duration:
        if isinstance(value, str):
            try:
                return Duration.parse(value)
            except ConfigError as e:
                raise ConfigError(f"{origin}: {label}: {e}") from None
    raise ConfigError(f"{origin}: {label} must be {want.__name__.lower()}, got {value!r}")


def _coerce_tuple(key: Key, value: Any, origin: str, label: str) -> Any:
    """A list of strings, or a table of lists of strings (DbRps). From env, a list is TOML
    (`["a", "b"]`) or comma separated, a table TOML (`{ telegraf = ["autogen"] }`)."""
    table = key.kind is DbRps
    if isinstance(value, str):
        text = value.strip()
        if table or text.startswith("["):
            try:
                value = tomllib.loads(f"v = {text or '{}'}")["v"]
            except tomllib.TOMLDecodeError as e:
                raise ConfigError(f"{origin}: {label}: {e} in {value!r}") from None
        else:
            value = [part.strip() for part in text.split(",") if part.strip()]
    if table:
        if isinstance(value, dict) and all(_strings(v) for v in value.values()):
            return DbRps((str(db), tuple(rps)) for db, rps in value.items())
        raise ConfigError(
            f'{origin}: {label} must be a table of lists, e.g. {{ telegraf = ["autogen"] }},'
            f" got {value!r}"
        )
    if _strings(value):
        return tuple(value)
    raise ConfigError(f"{origin}: {label} must be a list of strings, got {value!r}")


def _strings(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)


_T = TypeVar("_T")


def _section(cls: type[_T], section: str, values: Mapping[tuple[str, str], Any]) -> _T:
    return cls(**{k.attr: values[(section, k.name)] for k in _BY_SECTION[section].values()})


class Config:
    """Resolved configuration, typed per key: `cfg.http.bind_address` is a str,
    `cfg.interpreter.state_interval.seconds` a float; paths are already absolute."""

    def __init__(
        self,
        values: Mapping[tuple[str, str], Any],
        path: Path | None = None,
        tables: Mapping[str, tuple[Any, ...]] | None = None,
    ) -> None:
        """`values`: every key of SCHEMA, of its key's type (as `load_config` makes them);
        `tables`: the elements of each table section (none when left out)."""
        self._values = dict(values)
        self._tables = {name: tuple((tables or {}).get(name, ())) for name in TABLE_SECTIONS}
        self.path = path
        self.influxdb: tuple[InfluxDBConfig, ...] = self._tables["influxdb"]
        self.udp: tuple[UdpConfig, ...] = self._tables["udp"]
        _check_influxdb(self.influxdb)
        top = _section(TopConfig, "", values)
        self.hostname = top.hostname
        self.data_dir = Path(top.data_dir).expanduser().resolve()
        self.http = _section(HttpConfig, "http", values)
        self.auth = _section(AuthConfig, "auth", values)
        self.outbound = _section(OutboundConfig, "outbound", values)
        self.nats = _section(NatsConfig, "nats", values)
        self.ingest = _section(IngestConfig, "ingest", values)
        self.nats_input = _section(NatsInputConfig, "nats-input", values)
        self.alert = _section(AlertConfig, "alert", values)
        self.slack = _section(SlackConfig, "slack", values)
        self.teams = _section(TeamsConfig, "teams", values)
        self.discord = _section(DiscordConfig, "discord", values)
        self.telegram = _section(TelegramConfig, "telegram", values)
        self.pagerduty2 = _section(PagerDuty2Config, "pagerduty2", values)
        self.opsgenie2 = _section(OpsGenie2Config, "opsgenie2", values)
        self.victorops = _section(VictorOpsConfig, "victorops", values)
        self.pushover = _section(PushoverConfig, "pushover", values)
        self.sensu = _section(SensuConfig, "sensu", values)
        self.alerta = _section(AlertaConfig, "alerta", values)
        self.servicenow = _section(ServiceNowConfig, "servicenow", values)
        self.bigpanda = _section(BigPandaConfig, "bigpanda", values)
        self.smtp = _section(SmtpConfig, "smtp", values)
        self.mqtt = _section(MqttConfig, "mqtt", values)
        self.interpreter = _section(InterpreterConfig, "interpreter", values)
        self.matcher = _section(MatcherConfig, "matcher", values)
        self.cluster = _section(ClusterConfig, "cluster", values)
        self.daemon = _section(DaemonConfig, "daemon", values)
        self.logging = _section(LoggingConfig, "logging", values)

    def value(self, key: Key) -> Any:
        """The value of one key of SCHEMA (for code that walks SCHEMA; typed code reads the
        sections' attributes)."""
        return self._values[(key.section, key.name)]

    def data_path(self, value: str) -> Path | None:
        """A path setting resolved against data_dir; None when the setting is empty."""
        if not value:
            return None
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.data_dir / p

    def outbound_policy(self) -> OutboundPolicy:
        return OutboundPolicy(parse_networks(self.outbound.deny_networks))

    @property
    def nats_url(self) -> str:
        return self.nats.url

    @property
    def unix_socket(self) -> Path | None:
        return self.data_path(self.http.unix_socket)

    @property
    def alert_log(self) -> Path | None:
        return self.data_path(self.alert.log)

    def influxdb_cluster(self, name: str = "") -> InfluxDBConfig:
        """The enabled [[influxdb]] named `name`, or the default one when `name` is empty."""
        enabled = [c for c in self.influxdb if c.enabled]
        for c in enabled:
            if c.name == name or (not name and (c.default or len(enabled) == 1)):
                return c
        if not enabled:
            raise ConfigError("no InfluxDB is configured: add an [[influxdb]] section")
        if name:
            known = ", ".join(c.name for c in enabled)
            raise ConfigError(f"no InfluxDB named {name!r} is configured (there is {known})")
        raise ConfigError("several [[influxdb]] are enabled and none is the default")

    def with_overrides(self, **env: str) -> dict[str, str]:
        """Env vars that make a child process see exactly this config."""
        out = {}
        for key in SCHEMA:
            out[key.env] = _env_text(self._values[(key.section, key.name)])
        for section, elements in self._tables.items():
            for i, element in enumerate(elements):
                for key in TABLE_SCHEMA[section].values():
                    out[key.env_at(i)] = _env_text(getattr(element, key.attr))
        out.update(env)
        return out

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for (section, name), value in self._values.items():
            v = _plain(value)
            if section:
                out.setdefault(section, {})[name] = v
            else:
                out[name] = v
        for section, elements in self._tables.items():
            out[section] = [
                {k.name: _plain(getattr(e, k.attr)) for k in TABLE_SCHEMA[section].values()}
                for e in elements
            ]
        return out


def _check_influxdb(clusters: tuple[InfluxDBConfig, ...]) -> None:
    names = [c.name for c in clusters]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"two [[influxdb]] are named {name!r}")
    enabled = [c for c in clusters if c.enabled]
    defaults = [c.name for c in enabled if c.default]
    if len(defaults) > 1:
        raise ConfigError(f"only one [[influxdb]] may be the default, not {', '.join(defaults)}")
    if len(enabled) > 1 and not defaults:
        raise ConfigError("several [[influxdb]] are enabled: mark one `default = true`")


def _plain(value: Any) -> Any:
    """A setting's value as TOML or JSON has it."""
    if isinstance(value, Duration):
        return str(value)
    if isinstance(value, DbRps):
        return {db: list(rps) for db, rps in value}
    if isinstance(value, tuple):
        return list(value)
    return value


def _env_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return _toml_value(value)
    return str(value)


def load_config(path: str | Path | None = None, env: dict[str, str] | None = None) -> Config:
    """Defaults, then the TOML file (if any), then KAPACITOR_* env vars."""
    env = dict(os.environ) if env is None else env
    if path is None and env.get("KAPACITOR_CONFIG_PATH"):
        path = env["KAPACITOR_CONFIG_PATH"]
    values: dict[tuple[str, str], Any] = {(k.section, k.name): k.default for k in SCHEMA}
    tables: dict[str, list[dict[str, Any]]] = {}
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
            if name in TABLE_SECTIONS:
                tables[name] = _table_file(name, v, file_path)
            elif isinstance(v, dict):
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
    for section in TABLE_SECTIONS:
        _table_env(section, tables.setdefault(section, []), env)
    return Config(values, file_path, _build_tables(tables))


def _table_file(section: str, doc: Any, file_path: Path) -> list[dict[str, Any]]:
    """The elements of `[[section]]` in a TOML file, each key checked and typed."""
    if isinstance(doc, dict):  # a single [section]: taken as one element
        doc = [doc]
    if not isinstance(doc, list):
        raise ConfigError(f"{file_path}: {section} must be [[{section}]] tables")
    out = []
    keys = TABLE_SCHEMA[section]
    for i, table in enumerate(doc):
        element: dict[str, Any] = {}
        for name, v in table.items():
            key = keys.get(name)
            if key is None:
                raise ConfigError(f"{file_path}: unknown key {name!r} in [[{section}]] #{i + 1}")
            element[key.attr] = _coerce(key, v, str(file_path), f"{section}[{i}].{name}")
        out.append(element)
    return out


_TABLE_ENV = re.compile(r"KAPACITOR_([A-Z0-9_]+?)_(\d+)_([A-Z0-9_]+)")


def _table_env(section: str, elements: list[dict[str, Any]], env: Mapping[str, str]) -> None:
    """Apply KAPACITOR_<SECTION>_<i>_<KEY> (and, for a list, ..._<KEY>_<j>) to `elements`:
    an index one past the last adds an element (with its defaults), as Kapacitor's do."""
    keys = {_env_word(k.name): k for k in TABLE_SCHEMA[section].values()}
    found: list[tuple[int, int, str, Key, str]] = []  # (element, list index or -1, var, ...)
    for var, text in env.items():
        m = _TABLE_ENV.fullmatch(var)
        if m is None or m[1] != _env_word(section):
            continue
        rest = m[3]
        key = keys.get(rest)
        item = -1
        if key is None:
            head, _, index = rest.rpartition("_")
            key = keys.get(head)
            if key is None or not index.isdigit() or key.hint != tuple[str, ...]:
                raise ConfigError(f"env {var}: [[{section}]] has no key {rest.lower()!r}")
            item = int(index)
        found.append((int(m[2]), item, var, key, text))
    for i, item, var, key, text in sorted(found, key=lambda f: (f[0], f[1])):
        if i > len(elements):
            raise ConfigError(f"env {var}: there is no [[{section}]] {i - 1} before it")
        if i == len(elements):
            elements.append({})
        label = f"{section}[{i}].{key.name}"
        if item < 0:
            elements[i][key.attr] = _coerce(key, text, f"env {var}", label)
            continue
        current = list(elements[i].get(key.attr, key.default))
        if item > len(current):
            raise ConfigError(f"env {var}: {label} has no item {item - 1} before it")
        current[item : item + 1] = [text]
        elements[i][key.attr] = tuple(current)


def _build_tables(tables: Mapping[str, list[dict[str, Any]]]) -> dict[str, tuple[Any, ...]]:
    out: dict[str, tuple[Any, ...]] = {}
    for section, elements in tables.items():
        cls = TABLE_SECTIONS[section]
        out[section] = tuple(cls(**element) for element in elements)
    return out


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, DbRps):
        return "{ " + ", ".join(f"{_toml_value(db)} = {_toml_value(rps)}" for db, rps in v) + " }"
    if isinstance(v, tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    # str, or a Duration as written
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
            v = key.default if cfg is None else cfg.value(key)
            lines.append(f"  # {key.comment} (env {key.env})")
            lines.append(f"  {key.name} = {_toml_value(v)}")
        lines.append("")
    for section, table_keys in TABLE_SCHEMA.items():
        elements = () if cfg is None else cfg._tables[section]
        if not elements:  # none by default: an example, commented out
            lines.append(f"# [[{section}]]  (none by default; one table per {section})")
            for key in table_keys.values():
                lines.append(f"#   # {key.comment} (env {key.env_at(0)})")
                lines.append(f"#   {key.name} = {_toml_value(key.default)}")
            lines.append("")
        for i, element in enumerate(elements):
            lines.append(f"[[{section}]]")
            for key in table_keys.values():
                lines.append(f"  # {key.comment} (env {key.env_at(i)})")
                lines.append(f"  {key.name} = {_toml_value(getattr(element, key.attr))}")
            lines.append("")
    return "\n".join(lines)
