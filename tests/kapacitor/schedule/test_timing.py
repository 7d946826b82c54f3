"""Ticks, ranges and the catch-up rule of scheduled plugins."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kapacitor.errors import PluginError
from kapacitor.schedule import schedule_of

S = 1_000_000_000
M = 60 * S


def at(*ymdhms: int) -> int:
    return int(datetime(*ymdhms, tzinfo=UTC).timestamp()) * S  # type: ignore[misc]


@given(st.integers(1, 3600), st.integers(0, 10**19))
def test_every_ticks_are_the_multiples_of_the_interval(every_s: int, now: int) -> None:
    s = schedule_of(f"{every_s}s", "", "", "")
    nxt, last = s.next_tick(now), s.last_tick(now)
    assert nxt > now >= last and nxt % (every_s * S) == 0 and last % (every_s * S) == 0
    assert nxt - last in (every_s * S, 2 * every_s * S) and (nxt - last == every_s * S) == (
        now % (every_s * S) != 0 or nxt - now == every_s * S
    )


def test_cron_ticks_in_utc() -> None:
    s = schedule_of("", "*/5 * * * *", "", "")
    assert s.next_tick(at(2026, 1, 1, 0, 3)) == at(2026, 1, 1, 0, 5)
    assert s.next_tick(at(2026, 1, 1, 0, 5)) == at(2026, 1, 1, 0, 10)  # strictly after
    assert s.last_tick(at(2026, 1, 1, 0, 5)) == at(2026, 1, 1, 0, 5)
    assert s.last_tick(at(2026, 1, 1, 0, 5) + 1) == at(2026, 1, 1, 0, 5)
    assert s.last_tick(at(2026, 1, 1, 0, 5) - 1) == at(2026, 1, 1, 0, 0)
    seconds = schedule_of("", "*/10 * * * * *", "", "")  # six fields: seconds first
    assert seconds.next_tick(at(2026, 1, 1, 0, 0, 1)) == at(2026, 1, 1, 0, 0, 10)


def test_ranges_follow_period_and_offset() -> None:
    assert schedule_of("1m", "", "", "").range_of(10 * M) == (9 * M, 10 * M)
    assert schedule_of("1m", "", "5m", "10s").range_of(10 * M) == (5 * M - 10 * S, 10 * M - 10 * S)
    cron = schedule_of("", "0 * * * *", "", "")  # hourly: the hour before
    assert cron.range_of(at(2026, 1, 1, 5)) == (at(2026, 1, 1, 4), at(2026, 1, 1, 5))


def test_catch_up_runs_only_the_latest_due_tick() -> None:
    s = schedule_of("1m", "", "", "")
    assert s.due(0, 100 * M) == (None, 0)  # never ran: wait for the next tick
    assert s.due(10 * M, 10 * M + 30 * S) == (None, 0)  # nothing due yet
    assert s.due(10 * M, 11 * M) == (11 * M, 0)  # the next one, on time
    assert s.due(10 * M, 15 * M + 1) == (15 * M, 4)  # down 5 minutes: 11..14 skipped


@pytest.mark.parametrize(
    ("every", "cron", "period", "offset", "message"),
    [
        ("", "", "", "", "needs --every or --cron"),
        ("1m", "* * * * *", "", "", "needs --every or --cron"),
        ("soon", "", "", "", "--every 'soon' is not a duration"),
        ("1m", "", "-5m", "", "--period must not be negative"),
        ("", "61 * * * *", "", "", "--cron '61 \\* \\* \\* \\*' is not a cron expression"),
        ("1ns", "", "", "", "at least 1ms"),
    ],
)
def test_bad_schedules_name_the_option(
    every: str, cron: str, period: str, offset: str, message: str
) -> None:
    with pytest.raises(PluginError, match=message):
        schedule_of(every, cron, period, offset)
