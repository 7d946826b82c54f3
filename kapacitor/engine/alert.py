"""Alert state transitions, found for all instances of a batch at once.

Per instance and alert the state is one bit (firing or not; "never evaluated" counts as not
firing) and the time it started firing. A row's condition is compared with the previous
condition of the same instance: the row before it in the sorted batch, or the carried state for
an instance's first row. Only rows where the condition changes become events, and alerts are
rare, so the Python loop over changes is cheap.
"""

from __future__ import annotations

import numpy as np

from kapacitor.engine.groups import BoolArray, Groups, IntArray, grow


class AlertState:
    """Firing bit and first-fired time of one alert, indexed by instance id."""

    def __init__(self) -> None:
        self.active: BoolArray = np.zeros(0, np.bool_)
        self.fired_at: IntArray = np.zeros(0, np.int64)

    def ensure(self, n: int) -> None:
        self.active = grow(self.active, n, False)
        self.fired_at = grow(self.fired_at, n, 0)

    def step(
        self, cond: BoolArray, times: IntArray, inst: IntArray, groups: Groups
    ) -> tuple[IntArray, BoolArray, IntArray]:
        """Advance with one condition per row; rows grouped by instance in arrival order.

        Returns, for the rows where the state changed (ascending), the row positions, whether
        the alert fired (True) or recovered (False) there, and the duration since first firing.
        """
        m = cond.shape[0]
        if m == 0:
            empty = np.zeros(0, np.int64)
            return empty, np.zeros(0, np.bool_), empty
        prev = np.empty(m, np.bool_)
        prev[1:] = cond[:-1]
        prev[groups.starts] = self.active[groups.ids]
        changed = np.flatnonzero(cond != prev)
        self.active[groups.ids] = cond[groups.last_rows]
        fired = cond[changed]
        durations = np.zeros(changed.shape[0], np.int64)
        fired_at = self.fired_at
        # Sequential per instance: a recovery's duration needs the preceding firing's time,
        # which may be in this same batch.
        for j, (pos, up) in enumerate(zip(changed.tolist(), fired.tolist(), strict=True)):
            iid = int(inst[pos])
            t = int(times[pos])
            if up:
                fired_at[iid] = t
            else:
                durations[j] = t - int(fired_at[iid])
        return changed.astype(np.int64), fired, durations
