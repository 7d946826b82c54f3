"""The pacer on a fake clock: it sleeps just enough for event time to keep its pace."""

from __future__ import annotations

import pytest

from kapacitor.clock import ManualClock
from kapacitor.replay.pacer import Pacer

S = 1_000_000_000


def paced(speed: float) -> tuple[Pacer, ManualClock, list[float]]:
    clock = ManualClock(1000 * S)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(round(seconds * 1e9))

    return Pacer(speed, clock, sleep), clock, slept


def test_recorded_pace_sleeps_the_event_gaps() -> None:
    pacer, _, slept = paced(1.0)
    for t in (50 * S, 52 * S, 52 * S, 57 * S):
        pacer.wait(t)
    assert slept == [2.0, 5.0]


def test_speed_divides_the_gaps_and_time_already_spent_counts() -> None:
    pacer, clock, slept = paced(4.0)
    pacer.wait(0)
    clock.advance(1 * S)  # the replay itself took a second
    pacer.wait(8 * S)  # due 2s after the origin: 1s left
    pacer.wait(10 * S)  # due at 2.5s
    clock.advance(3 * S)  # late already: no sleep
    pacer.wait(12 * S)
    assert slept == [1.0, 0.5]


def test_a_pace_needs_a_positive_speed() -> None:
    with pytest.raises(ValueError, match="speed > 0"):
        Pacer(0.0, ManualClock(), lambda s: None)
