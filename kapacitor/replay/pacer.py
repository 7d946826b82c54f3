"""Holding a replay back to the recorded pace (or a multiple of it), on the injected clock."""

from __future__ import annotations

from collections.abc import Callable

from kapacitor.clock import Clock

__all__ = ["Pacer"]


class Pacer:
    """Sleeps so that event time advances `speed` times as fast as `clock`.

    `wait(event_ns)` is called with an event time before the points up to it are replayed; the
    first call fixes the origin. `sleep` takes seconds (time.sleep in a replay thread; a
    fake that moves a ManualClock in tests).
    """

    def __init__(self, speed: float, clock: Clock, sleep: Callable[[float], None]) -> None:
        if not speed > 0:
            raise ValueError(f"a pace needs a speed > 0, got {speed}")
        self.speed = speed
        self.clock = clock
        self.sleep = sleep
        self.origin: tuple[int, int] | None = None  # (clock ns, event ns) of the first call

    def wait(self, event_ns: int) -> None:
        now = self.clock.now_ns()
        if self.origin is None:
            self.origin = (now, event_ns)
            return
        clock0, event0 = self.origin
        due = clock0 + (event_ns - event0) / self.speed
        if due > now:
            self.sleep((due - now) / 1e9)
