"""When a scheduled plugin's ticks are, what range each one queries, and what is done about
ticks missed.

* `--every D`: ticks at the multiples of D since the Unix epoch (every 1m: at each whole
  minute), so every host and every restart agrees on them. `--cron EXPR`: at the times of a
  cron expression (5 fields, or 6 with seconds first), in UTC.
* A tick at T queries [T - offset - period, T - offset): `--period` defaults to the interval
  between ticks (--every, or for --cron the interval from the previous tick), `--offset` to 0
  (give late data time to arrive: `--offset 10s`).
* Catching up (`due`): after a time without ticks (kapacitord was down, the plugin's owner
  changed), only the latest tick that is due runs; those before it are skipped and counted.
  A tick whose query outlives the next tick's time does not overlap it: the ticks passed
  meanwhile are skipped and counted the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from kapacitor.config import parse_duration
from kapacitor.errors import ConfigError, PluginError

if TYPE_CHECKING:
    from croniter import croniter

__all__ = ["Schedule", "schedule_of"]

NS = 1_000_000_000


def _duration_ns(option: str, text: str) -> int:
    try:
        ns = round(parse_duration(text) * NS)
    except ConfigError:
        raise PluginError(f"{option} {text!r} is not a duration (e.g. 10s, 1m, 1h)") from None
    if ns < 0:
        raise PluginError(f"{option} must not be negative, got {text!r}")
    return ns


@dataclass(frozen=True, slots=True)
class Schedule:
    every_ns: int  # 0 with a cron expression
    cron: str
    period_ns: int  # 0: the interval between ticks
    offset_ns: int

    def _cron(self, at_s: int) -> croniter:
        from croniter import croniter  # only where --cron is used: see _is_cron

        return croniter(self.cron, datetime.fromtimestamp(at_s, tz=UTC), second_at_beginning=True)

    # Cron ticks fall on whole seconds: tick > t exactly when tick > floor(t), and tick <= t
    # exactly when tick < floor(t) + 1s (croniter steps strictly after or before its start).

    def next_tick(self, after_ns: int) -> int:
        """The first tick strictly after `after_ns`."""
        if self.every_ns:
            return (after_ns // self.every_ns + 1) * self.every_ns
        return round(self._cron(after_ns // NS).get_next(float)) * NS

    def last_tick(self, at_ns: int) -> int:
        """The latest tick at or before `at_ns`."""
        if self.every_ns:
            return (at_ns // self.every_ns) * self.every_ns
        return round(self._cron(at_ns // NS + 1).get_prev(float)) * NS

    def range_of(self, tick_ns: int) -> tuple[int, int]:
        """The [start, end) a tick queries."""
        end = tick_ns - self.offset_ns
        period = self.period_ns or self.every_ns
        if not period:  # cron: the interval since the tick before
            period = tick_ns - round(self._cron(tick_ns // NS).get_prev(float)) * NS
        return end - period, end

    def ticks(self, after_ns: int, until_ns: int, limit: int) -> list[int]:
        """The ticks in (after_ns, until_ns], at most `limit` (PluginError past it)."""
        out: list[int] = []
        t = self.next_tick(after_ns)
        while t <= until_ns:
            if len(out) == limit:
                raise PluginError(f"more than {limit} ticks in that range: record a shorter one")
            out.append(t)
            t = self.next_tick(t)
        return out

    def due(self, last_done_ns: int, now_ns: int) -> tuple[int | None, int]:
        """(the tick to run now or None, how many earlier due ticks are skipped), for a plugin
        whose last tick run was `last_done_ns` (0: none yet)."""
        latest = self.last_tick(now_ns)
        if last_done_ns == 0 or latest <= last_done_ns:
            return None, 0
        skipped = 0
        t = self.next_tick(last_done_ns)
        while t < latest and skipped < 1_000_000:
            skipped += 1
            t = self.next_tick(t)
        return latest, skipped


def schedule_of(every: str, cron: str, period: str, offset: str) -> Schedule:
    """The schedule of a definition's options; PluginError naming the option at fault."""
    if bool(every) == bool(cron):
        raise PluginError("a scheduled plugin needs --every or --cron (one of them)")
    every_ns = _duration_ns("--every", every) if every else 0
    if every and every_ns < NS // 1000:
        raise PluginError(f"--every must be at least 1ms, got {every!r}")
    if cron and not _is_cron(cron):
        raise PluginError(
            f"--cron {cron!r} is not a cron expression (minute hour day month weekday,"
            " with an optional seconds field first)"
        )
    return Schedule(
        every_ns,
        cron,
        _duration_ns("--period", period) if period else 0,
        _duration_ns("--offset", offset) if offset else 0,
    )


def _is_cron(text: str) -> bool:
    # croniter (and dateutil under it) is imported where a cron expression is used, not by
    # every service: each is forked from one image of all imports, and it weighs ~1 MB on all.
    from croniter import croniter

    return bool(croniter.is_valid(text, second_at_beginning=True))
