"""Alert state transitions, found for all instances of a batch at once.

Per instance and alert the state is a level (OK, INFO, WARNING, CRITICAL; "never evaluated"
counts as OK) and the time the current episode began (its change from OK). A row's level is
compared with the previous level of the same instance: the row before it in the sorted
batch, or the carried state for an instance's first row. Only rows where the level changes
become events, and alerts are rare, so the Python loop over changes is cheap.
"""

from __future__ import annotations

from typing import ClassVar

import msgspec
import numpy as np
import numpy.typing as npt

from kapacitor.engine.groups import Groups, IntArray, grow
from kapacitor.engine.snapshot import Section, array_from, decode_part, encode_part
from kapacitor.errors import CodecError

LEVELS = ("OK", "INFO", "WARNING", "CRITICAL")  # codes 0..3: a higher code wins
RAISED_LEVELS = LEVELS[1:]  # what level= may name (upper-cased)


class AlertSnap(msgspec.Struct, frozen=True):
    """An alert's part of a snapshot (little-endian arrays)."""

    level: bytes
    fired_at: bytes


class AlertState:
    """Level code (0: OK) and episode start time of one alert, indexed by instance id (an
    InstanceState)."""

    section: ClassVar[Section] = "alerts"

    def __init__(self) -> None:
        self.level: npt.NDArray[np.int8] = np.zeros(0, np.int8)
        self.fired_at: IntArray = np.zeros(0, np.int64)

    def keep(self, idx: IntArray) -> None:
        """Keep only the instances `idx`, renumbered in that order."""
        self.level = self.level[idx]
        self.fired_at = self.fired_at[idx]

    def ensure(self, n: int) -> None:
        self.level = grow(self.level, n, 0)
        self.fired_at = grow(self.fired_at, n, 0)

    def nbytes(self) -> int:
        return self.level.nbytes + self.fired_at.nbytes

    def snapshot(self, n: int) -> msgspec.Raw:
        return encode_part(
            AlertSnap(
                level=self.level[:n].astype("<i1").tobytes(),
                fired_at=self.fired_at[:n].astype("<i8").tobytes(),
            )
        )

    def restore(self, data: msgspec.Raw, n: int) -> None:
        snap = decode_part(data, AlertSnap)
        level = array_from(snap.level, "<i1", n)
        if n and (int(level.min()) < 0 or int(level.max()) >= len(LEVELS)):
            raise CodecError("snapshot holds an unknown alert level")
        self.ensure(n)
        self.level[:n] = level
        self.fired_at[:n] = array_from(snap.fired_at, "<i8", n)

    def step(
        self, codes: npt.NDArray[np.int8], times: IntArray, inst: IntArray, groups: Groups
    ) -> tuple[IntArray, npt.NDArray[np.int8], npt.NDArray[np.int8], IntArray]:
        """Advance with one level code per row; rows grouped by instance in arrival order.

        Returns, for the rows where the level changed (ascending), the row positions, the new
        and the previous codes, and the time since the episode began (the change from OK that
        started it; 0 on that change itself).
        """
        m = codes.shape[0]
        if m == 0:
            empty = np.zeros(0, np.int64)
            none = np.zeros(0, np.int8)
            return empty, none, none, empty
        prev = np.empty(m, np.int8)
        prev[1:] = codes[:-1]
        prev[groups.starts] = self.level[groups.ids]
        changed = np.flatnonzero(codes != prev)
        self.level[groups.ids] = codes[groups.last_rows]
        new, old = codes[changed], prev[changed]
        durations = np.zeros(changed.shape[0], np.int64)
        fired_at = self.fired_at
        # Sequential per instance: an event's duration needs the time its episode began,
        # which may be in this same batch.
        for j, (pos, was) in enumerate(zip(changed.tolist(), old.tolist(), strict=True)):
            iid = int(inst[pos])
            t = int(times[pos])
            if was == 0:
                fired_at[iid] = t
            else:
                durations[j] = t - int(fired_at[iid])
        return changed.astype(np.int64), new, old, durations
