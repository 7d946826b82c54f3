"""Time is injected: engine, scheduler and alert code ask a Clock, never the OS.

`now_ns` is wall time (what points and alerts carry); `monotonic_ns` never goes back, for
deadlines that a wall-clock step must not move (lease ownership)."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ns(self) -> int:
        """Nanoseconds since the Unix epoch."""
        ...

    def monotonic_ns(self) -> int:
        """Nanoseconds from an arbitrary origin; never decreases."""
        ...


class SystemClock:
    def now_ns(self) -> int:
        return time.time_ns()

    def monotonic_ns(self) -> int:
        return time.monotonic_ns()


class ManualClock:
    """A clock that moves only when told to; for tests and replays. `set` moves the wall time
    only (as a wall-clock step would); `advance` moves both."""

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns
        self._monotonic = 0

    def now_ns(self) -> int:
        return self._now

    def monotonic_ns(self) -> int:
        return self._monotonic

    def advance(self, ns: int) -> None:
        self._now += ns
        self._monotonic += max(ns, 0)

    def set(self, ns: int) -> None:
        self._now = ns
