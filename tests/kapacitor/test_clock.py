"""The injected clocks: wall time and a monotonic time that never goes back."""

from __future__ import annotations

import time

from kapacitor.clock import ManualClock, SystemClock


def test_system_clock_reads_wall_and_monotonic_time() -> None:
    clock = SystemClock()
    assert abs(clock.now_ns() - time.time_ns()) < 10**9
    a = clock.monotonic_ns()
    assert clock.monotonic_ns() >= a


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(1_000)
    assert (clock.now_ns(), clock.monotonic_ns()) == (1_000, 0)
    clock.advance(500)
    assert (clock.now_ns(), clock.monotonic_ns()) == (1_500, 500)


def test_manual_clock_wall_step_leaves_monotonic_time() -> None:
    clock = ManualClock(1_000)
    clock.advance(10)
    clock.set(0)
    assert (clock.now_ns(), clock.monotonic_ns()) == (0, 10)
    clock.advance(-5)
    assert clock.monotonic_ns() == 10
