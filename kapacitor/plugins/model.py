"""A plugin definition as `kapacitor define` stores it, and the counters kept for it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from kapacitor.config import parse_duration
from kapacitor.errors import ConfigError, PluginError

MAX_EXPIRE_S = 100 * 365 * 86400.0


class PluginSpec(msgspec.Struct, frozen=True, kw_only=True):
    """What `kapacitor define` sets of a plugin. A stream plugin watches the measurement
    `from_`; a scheduled one (`query` set) runs its query every `every` or by `cron`
    (kapacitor.schedule). `group_by` None means one instance per series."""

    name: str
    from_: str = msgspec.field(default="", name="from")
    script: str
    where: str = ""
    db: str = ""
    rp: str = ""
    group_by: list[str] | None = None
    webhook: str = ""
    expire: str = ""  # forget instances silent this long (a duration); "": the server default
    max_instances: int = 0  # refuse points of new instances beyond this many; 0: server default
    query: str = ""  # InfluxQL SELECT of a scheduled plugin
    every: str = ""  # its ticks: a duration, or
    cron: str = ""  # a cron expression
    period: str = ""  # the range each tick queries ("": the interval between ticks)
    offset: str = ""  # how far before the tick that range ends
    cluster: str = ""  # the [[influxdb]] it queries ("": the default one)

    @property
    def scheduled(self) -> bool:
        return bool(self.query)


def spec_fields(spec: PluginSpec) -> dict[str, Any]:
    """The fields of a PluginSpec (or of anything derived from one), by attribute name."""
    return {f.name: getattr(spec, f.name) for f in msgspec.structs.fields(PluginSpec)}


class PluginDefinition(PluginSpec, frozen=True, kw_only=True):
    """One stored plugin: what was defined, and what the server keeps of it."""

    enabled: bool = False
    created: int = 0  # ns since epoch
    modified: int = 0
    revision: int = 0  # bumped on every define, so runtimes know to rebuild state


def state_fingerprint(d: PluginDefinition) -> str:
    """Which definition a runtime's state belongs to: re-defining a plugin (a new revision) or
    deleting and defining it again (a new creation time) makes saved state inapplicable."""
    return f"{d.created}.{d.revision}"


class PluginStats(msgspec.Struct, kw_only=True):
    plugin: str
    revision: int = 0
    points_processed: int = 0
    points_skipped: int = 0
    alerts_fired: int = 0
    errors: int = 0
    last_error: str = ""
    last_point_time: int = 0
    instances: int = 0  # held in memory now
    instances_expired: int = 0
    state_bytes: int = 0  # about what their state takes in memory
    points_refused: int = 0  # of new instances beyond max_instances
    template_errors: int = 0  # events whose message, computed per point, was no template
    output_points: int = 0  # points its outputs sent (influxdb_out, publish, loopback)
    output_dropped: int = 0  # points its outputs dropped after the last retry
    queries: int = 0  # a scheduled plugin's queries run
    query_errors: int = 0  # of them, those that failed
    ticks_skipped: int = 0  # ticks not run: missed while down, or passed during a slow query
    last_tick: int = 0  # ns, the last tick run


def sum_stats(plugin: str, parts: Iterable[PluginStats]) -> PluginStats:
    """A plugin's counters over all its parts (one per partition, and what was counted before
    partitions): counts add up, the newest point time is the latest, the running revision is
    the oldest one still running (0 when none runs), the last error the last one reported."""
    total = PluginStats(plugin=plugin)
    revisions = []
    for s in parts:
        for name in _SUMMED:
            setattr(total, name, getattr(total, name) + getattr(s, name))
        total.last_point_time = max(total.last_point_time, s.last_point_time)
        total.last_tick = max(total.last_tick, s.last_tick)
        if s.revision:
            revisions.append(s.revision)
        if s.last_error:
            total.last_error = s.last_error
    total.revision = min(revisions, default=0)
    return total


_SUMMED = (
    "points_processed",
    "points_skipped",
    "alerts_fired",
    "errors",
    "instances",
    "instances_expired",
    "state_bytes",
    "points_refused",
    "template_errors",
    "output_points",
    "output_dropped",
    "queries",
    "query_errors",
    "ticks_skipped",
)


def encode_definition(d: PluginDefinition) -> bytes:
    return msgspec.json.encode(d)


def decode_definition(data: bytes) -> PluginDefinition:
    try:
        return msgspec.json.decode(data, type=PluginDefinition)
    except msgspec.DecodeError as e:
        raise PluginError(f"stored plugin definition is unreadable: {e}") from e


def expire_ns(text: str) -> int:
    """`--expire` in nanoseconds (0: not set); PluginError unless a duration > 0."""
    if not text:
        return 0
    try:
        seconds = parse_duration(text)
    except ConfigError:
        seconds = -1.0
    if not 0 < seconds < MAX_EXPIRE_S:  # NaN and infinities too
        over = " (over 100 years)" if seconds >= MAX_EXPIRE_S else ""
        raise PluginError(f"--expire must be a duration > 0 such as 1h, got {text!r}{over}")
    return int(seconds * 1e9)
