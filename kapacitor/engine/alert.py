"""Alert state transitions, found for all instances of a batch at once.

Per instance and alert the state is a level (OK, INFO, WARNING, CRITICAL; "never evaluated"
counts as OK) and the time the current episode began (its change from OK). A row's level is
compared with the previous level of the same instance: the row before it in the sorted
batch, or the carried state for an instance's first row. Only rows where the level changes
become events, and alerts are rare, so the Python loop over changes is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import msgspec
import numpy as np
import numpy.typing as npt

from kapacitor.alerting.flapping import FlapRule
from kapacitor.engine.groups import Groups, IntArray, grow
from kapacitor.engine.snapshot import Section, array_from, decode_part, encode_part
from kapacitor.errors import CodecError

LEVELS = ("OK", "INFO", "WARNING", "CRITICAL")  # codes 0..3: a higher code wins
RAISED_LEVELS = LEVELS[1:]  # what level= may name (upper-cased)


class AlertSnap(msgspec.Struct, frozen=True, omit_defaults=True):
    """An alert's part of a snapshot (little-endian arrays; the later fields are absent from
    snapshots made before they existed, and left out for an alert that does not use them, so
    its snapshot stays as it was)."""

    level: bytes
    fired_at: bytes
    notified_at: bytes = b""
    ring: bytes = b""  # flapping: the last `history` levels of each instance, row-major
    ring_at: bytes = b""
    flapping: bytes = b""


class AlertState:
    """Level code (0: OK) and episode start time of one alert, indexed by instance id (an
    InstanceState); when the alert is evaluated step by step (AlertOp.stepwise), the time of
    its last event and, with flapping detection, the ring of its last levels."""

    section: ClassVar[Section] = "alerts"

    def __init__(self, how: Stepping | None = None) -> None:
        self.stepwise = how is not None  # its snapshot has the step-by-step fields
        self.how = how if how is not None else Stepping()
        flap = self.how.flap
        history = flap.history if flap is not None else 0
        self.history = history  # ring length (0: no flapping detection)
        self.level: npt.NDArray[np.int8] = np.zeros(0, np.int8)
        self.fired_at: IntArray = np.zeros(0, np.int64)
        self.notified_at: IntArray = np.zeros(0, np.int64)
        self.ring: npt.NDArray[np.int8] = np.zeros((0, history), np.int8)
        self.ring_at: IntArray = np.zeros(0, np.int64)
        self.flapping: npt.NDArray[np.bool_] = np.zeros(0, np.bool_)

    def keep(self, idx: IntArray) -> None:
        """Keep only the instances `idx`, renumbered in that order."""
        self.level = self.level[idx]
        self.fired_at = self.fired_at[idx]
        self.notified_at = self.notified_at[idx]
        if self.history:
            self.ring = self.ring[idx]
            self.ring_at = self.ring_at[idx]
            self.flapping = self.flapping[idx]

    def ensure(self, n: int) -> None:
        self.level = grow(self.level, n, 0)
        self.fired_at = grow(self.fired_at, n, 0)
        self.notified_at = grow(self.notified_at, n, 0)
        if self.history:
            self.ring_at = grow(self.ring_at, n, 0)
            self.flapping = grow(self.flapping, n, False)
            if self.ring.shape[0] < self.ring_at.shape[0]:
                ring = np.zeros((self.ring_at.shape[0], self.history), np.int8)
                ring[: self.ring.shape[0]] = self.ring
                self.ring = ring

    def nbytes(self) -> int:
        arrays = (self.level, self.fired_at, self.notified_at, self.ring, self.ring_at)
        return sum(a.nbytes for a in arrays) + self.flapping.nbytes

    def snapshot(self, n: int) -> msgspec.Raw:
        flap = bool(self.history)
        return encode_part(
            AlertSnap(
                level=self.level[:n].astype("<i1").tobytes(),
                fired_at=self.fired_at[:n].astype("<i8").tobytes(),
                notified_at=self.notified_at[:n].astype("<i8").tobytes() if self.stepwise else b"",
                ring=self.ring[:n].astype("<i1").tobytes() if flap else b"",
                ring_at=self.ring_at[:n].astype("<i8").tobytes() if flap else b"",
                flapping=self.flapping[:n].astype("<i1").tobytes() if flap else b"",
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
        if snap.notified_at:
            self.notified_at[:n] = array_from(snap.notified_at, "<i8", n)
        if self.history and snap.ring:
            ring = array_from(snap.ring, "<i1", n * self.history).reshape(n, self.history)
            at = array_from(snap.ring_at, "<i8", n)
            if n and (int(at.min()) < 0 or int(at.max()) >= self.history):
                raise CodecError("snapshot holds a flapping history of another length")
            self.ring[:n] = ring
            self.ring_at[:n] = at
            self.flapping[:n] = array_from(snap.flapping, "<i1", n) != 0

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

    def step_each(
        self,
        codes: npt.NDArray[np.int8],
        resets: dict[int, npt.NDArray[np.bool_]],
        times: IntArray,
        inst: IntArray,
    ) -> tuple[IntArray, npt.NDArray[np.int8], npt.NDArray[np.int8], IntArray]:
        """`step` for an alert evaluated row by row (AlertOp.stepwise), as Kapacitor does:

        - a level drops only where its reset condition holds (`resets[code]`, per row);
        - with flapping detection, the level joins the instance's ring, and an instance
          that is flapping sends nothing;
        - an event on every change; while raised, on every evaluation too unless
          `changes_only`, or again once `renotify_ns` has passed since the last event.

        Returns, for the rows that make an event, what `step` returns (an evaluation without
        a change reports its level as both new and previous)."""
        level, fired_at, notified = self.level, self.fired_at, self.notified_at
        how = self.how
        flap = how.flap
        rows: list[int] = []
        news: list[int] = []
        olds: list[int] = []
        durations: list[int] = []
        drops = {code: holds.tolist() for code, holds in resets.items()}
        for pos, (raw, iid, t) in enumerate(
            zip(codes.tolist(), inst.tolist(), times.tolist(), strict=True)
        ):
            prev = int(level[iid])
            new = raw
            if raw < prev and prev in drops and not drops[prev][pos]:
                new = prev  # its reset does not hold: the level stays
            changed = new != prev
            if changed:
                level[iid] = new
                if prev == 0:
                    fired_at[iid] = t
            if flap is not None:
                at = (int(self.ring_at[iid]) + 1) % self.history
                self.ring[iid, at] = new
                self.ring_at[iid] = at
                now = flap.flapping(bool(self.flapping[iid]), flap.share(self.ring[iid], at))
                self.flapping[iid] = now
                if now:
                    continue
            if not changed:
                if new == 0:
                    continue
                due = how.renotify_ns > 0 and t - int(notified[iid]) >= how.renotify_ns
                if how.changes_only and not due:
                    continue
            notified[iid] = t
            rows.append(pos)
            news.append(new)
            olds.append(prev)
            durations.append(0 if changed and prev == 0 else t - int(fired_at[iid]))
        return (
            np.asarray(rows, np.int64),
            np.asarray(news, np.int8),
            np.asarray(olds, np.int8),
            np.asarray(durations, np.int64),
        )


@dataclass(frozen=True, slots=True)
class Stepping:
    """How an alert evaluated row by row sends events (AlertOp's options)."""

    changes_only: bool = True
    renotify_ns: int = 0
    flap: FlapRule | None = None
