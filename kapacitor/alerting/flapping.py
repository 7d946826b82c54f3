"""Flapping detection as Kapacitor does it (`alert(..., flapping_low=, flapping_high=,
history=)`).

An alert keeps the levels of its last `history` evaluations in a ring. Its flapping share is
the weighted count of level changes between neighbours in that ring over `history - 1`, the
weights rising linearly from 0.8 to 1.2; an alert whose share goes above `high` is flapping
(it sends nothing) until the share goes below `low`. Which neighbours are compared and with
what weight follows Kapacitor 1.5 exactly, so an alert flaps at the same point as it would
there: starting at the newest entry and walking the ring forward, which compares the newest
with the one before it, then the oldest with the newest, then each older pair in turn (the
pair just before the newest is never compared).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

MIN_HISTORY = 2
MAX_HISTORY = 1000
DEFAULT_HISTORY = 21
_FIRST_WEIGHT = 0.8  # Kapacitor: maxWeight / weightDiff = 1.2 / 1.5
_LAST_WEIGHT = 1.2


class FlapRule:
    """The flapping share of an alert's ring and the flapping state it leads to."""

    def __init__(self, low: float, high: float, history: int) -> None:
        self.low, self.high, self.history = low, high, history
        step = (_LAST_WEIGHT - _FIRST_WEIGHT) / (history - 1)
        i = np.arange(history - 1)
        self._weights = (_FIRST_WEIGHT + step * i).astype(np.float64)
        # For each slot the newest entry may be in: the slots compared, in weight order.
        current = (i[None, :] + np.arange(history)[:, None]) % history
        self._current: npt.NDArray[np.int64] = current
        self._previous: npt.NDArray[np.int64] = (current - 1) % history

    def share(self, ring: npt.NDArray[np.int8], newest: int) -> float:
        """The flapping share of one alert's ring whose newest entry is in slot `newest`."""
        changed = ring[self._current[newest]] != ring[self._previous[newest]]
        return float(self._weights[changed].sum()) / (self.history - 1)

    def flapping(self, was: bool, share: float) -> bool:
        """Whether an alert is flapping after this evaluation (hysteresis between low and
        high)."""
        if was:
            return not share < self.low
        return share > self.high
