"""When each instance's rows arrived: the runtime's own per-instance state.

Two times per instance: the newest point time of its in-order rows, against which later rows
count as *late* (programs with a time window or a time-reading stream function drop them),
and the runtime clock's time of its last row of any kind, which `PluginRuntime.expire` reads.
Only the newest point time is part of snapshots: a restored instance counts as seen at the
restore.
"""

from __future__ import annotations

from typing import ClassVar

import msgspec
import numpy as np

from kapacitor.clock import Clock
from kapacitor.engine.groups import Groups, IntArray, grow
from kapacitor.engine.snapshot import Section, array_from, decode_part, encode_part
from kapacitor.engine.window import NO_TIME


class Arrivals:
    """Newest point time and last arrival (clock time) per instance id (an InstanceState)."""

    section: ClassVar[Section] = "newest"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.newest: IntArray = np.zeros(0, np.int64)
        self.seen_at: IntArray = np.zeros(0, np.int64)

    def ensure(self, n: int) -> None:
        self.newest = grow(self.newest, n, NO_TIME)
        self.seen_at = grow(self.seen_at, n, self.clock.now_ns())

    def keep(self, idx: IntArray) -> None:
        """Keep only the instances `idx`, renumbered in that order."""
        self.newest = self.newest[idx]
        self.seen_at = self.seen_at[idx]

    def nbytes(self) -> int:
        return self.newest.nbytes + self.seen_at.nbytes

    def snapshot(self, n: int) -> msgspec.Raw:
        return encode_part(self.newest[:n].astype("<i8").tobytes())

    def restore(self, data: msgspec.Raw, n: int) -> None:
        newest = array_from(decode_part(data, bytes), "<i8", n)
        self.ensure(n)
        self.newest[:n] = newest

    def seen(self, ids: IntArray) -> None:
        """Instances `ids` have rows now."""
        self.seen_at[ids] = self.clock.now_ns()

    def idle(self, n: int, idle_ns: int) -> IntArray:
        """The instances below n that had rows during the last `idle_ns` of the clock."""
        recent = self.seen_at[:n] > self.clock.now_ns() - idle_ns
        return np.flatnonzero(recent).astype(np.int64)

    def drop_late(self, times: IntArray, groups: Groups) -> IntArray | None:
        """Rows to keep if some are late (None: all in order); advances the newest times."""
        newest = self.newest
        first_late = times[groups.starts] < newest[groups.ids]
        step_back = np.zeros(times.shape[0], np.bool_)
        step_back[1:] = times[1:] < times[:-1]
        step_back[groups.starts] = False
        if not first_late.any() and not step_back.any():
            newest[groups.ids] = times[groups.last_rows]
            return None
        bad = first_late | np.logical_or.reduceat(step_back, groups.starts)
        late = np.zeros(times.shape[0], np.bool_)
        good = ~bad
        newest[groups.ids[good]] = times[groups.last_rows[good]]
        # Out-of-order instances are rare: a Python loop over just those is fine.
        for g in np.flatnonzero(bad).tolist():
            s, e = int(groups.starts[g]), int(groups.starts[g] + groups.counts[g])
            iid = int(groups.ids[g])
            seg = times[s:e]
            running = np.maximum.accumulate(np.concatenate(([newest[iid]], seg)))
            late[s:e] = seg < running[:-1]
            newest[iid] = running[-1]
        return np.flatnonzero(~late).astype(np.int64)
