"""`deadman(threshold, interval)`: alert when an instance stops sending points.

Unlike `alert()`, a deadman is driven by the runtime's *clock*, not by points: the runtime
counts every row each instance delivers (skipped and late rows too: they are signs of life),
and `PluginRuntime.on_timer(now)` checks the counts.

* The runtime starts at `clock.now_ns()` when it is created (or restored). Checks happen at
  the first `on_timer(now)` with `now >= next_check`; the first `next_check` is start +
  interval, each check sets the next one to `now + interval`. A check covers the rows counted
  since the previous check (a period of at least `interval`).
* At a check, an instance is *checked* only if it was first seen (its first row's clock
  time) at or before the start of the period, i.e. it was watched for the whole period. So
  nothing fires at start-up, and a new instance is checked from its first full period on.
* A checked instance with count <= threshold fires (level, previous "OK"), once; the event's
  `value` is the count, `time` the check's clock time.
* A firing instance recovers at the first `on_timer` (check or not) at which its count since
  the last check exceeds the threshold: more points are already in than the threshold
  allows, so the next check could only say OK.

Replays: the clock is the runtime's `clock`. A replay passes a clock driven by event time
(e.g. a ManualClock set to each batch's newest point time, calling `on_timer` with it), so
the wall clock never makes a replayed plugin look dead (see docs/engine.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import ClassVar

import msgspec
import numpy as np

from kapacitor.dsl.ast import String
from kapacitor.dsl.check import BoundCall, CheckedScript
from kapacitor.engine.events import (
    AlertEvent,
    RaisedAlert,
    alert_id,
    build_event,
    instance_alert_id,
)
from kapacitor.engine.groups import NO_TIME, BoolArray, IntArray, grow
from kapacitor.engine.ops import (
    describe_inhibit,
    describe_topic,
    duration_text,
    fmt_number,
    inhibit_options,
)
from kapacitor.engine.snapshot import Section, array_from, decode_part, encode_part
from kapacitor.errors import CodecError

DEFAULT_FIRING = (
    "{plugin} {instance} is {level}: {value} points in {interval}, at most {threshold} allowed"
)
DEFAULT_RECOVERY = "{plugin} {instance} is OK: points arrive again (was {previous_level})"


@dataclass(frozen=True, slots=True)
class DeadmanOp:
    """One deadman() statement; `index` is its position among the output statements."""

    index: int
    threshold: float
    interval_ns: int
    level: str
    message: str | None
    interval_text: str = dataclasses.field(compare=False, default="")
    topic: str = ""
    inhibit: str = ""  # as AlertOp's
    inhibit_tags: tuple[str, ...] = ()
    id_template: str | None = None
    details: str | None = None
    category: str = ""
    notify: bool = False  # as AlertOp's

    def inputs(self) -> tuple[int, ...]:
        return ()

    def remap(self, f: Callable[[int], int]) -> DeadmanOp:
        return self

    def describe(self) -> str:
        interval = self.interval_text or f"{self.interval_ns}ns"
        text = f"deadman {fmt_number(self.threshold)} {interval} level={self.level}"
        if self.message is not None:
            text += " message=" + str(String(self.message))
        text += describe_topic(self.topic, self.notify)
        for name, given in (("id", self.id_template), ("details", self.details)):
            if given is not None:
                text += f" {name}=" + str(String(given))
        if self.category:
            text += " category=" + str(String(self.category))
        return text + describe_inhibit(self.inhibit, self.inhibit_tags)


def plan_deadman(checked: CheckedScript, call: BoundCall, index: int) -> DeadmanOp:
    """Plan a `deadman(threshold, interval, message=..., level=...)` statement; the checker
    has made its arguments constants and validated them."""
    args = call.args
    threshold = checked.constant(args["threshold"])
    interval = checked.constant(args["interval"])
    assert isinstance(threshold, int | float) and isinstance(interval, int)
    message = None if "message" not in args else checked.constant(args["message"])
    level = "critical" if "level" not in args else checked.constant(args["level"])
    topic = "" if "topic" not in args else checked.constant(args["topic"])
    assert (message is None or isinstance(message, str)) and isinstance(level, str)
    assert isinstance(topic, str)
    text = duration_text(checked, args["interval"])
    id_template = checked.constant(args["id"]) if "id" in args else None
    details = checked.constant(args["details"]) if "details" in args else None
    category = checked.constant(args["category"]) if "category" in args else ""
    assert id_template is None or isinstance(id_template, str)
    assert (details is None or isinstance(details, str)) and isinstance(category, str)
    return DeadmanOp(
        index,
        float(threshold),
        interval,
        level.upper(),
        message,
        text,
        topic,
        id_template=id_template,
        details=details,
        category=category,
        notify="notify" in args,
        **inhibit_options(checked, args),
    )


_NIL = msgspec.msgpack.encode(None)  # the snapshot part of a program without deadman()


class _DeadmanSnap(msgspec.Struct, frozen=True, omit_defaults=True):
    next_check: int
    last_check: int
    count: bytes
    active: bytes
    fired_at: bytes
    changes: bytes = b""  # none while no instance changed level (snapshots before it had none)


class DeadmanSnap(msgspec.Struct, frozen=True):
    """The deadman part of a runtime snapshot."""

    since: bytes
    tags: list[dict[str, str]]
    ops: list[_DeadmanSnap]


class _OpState:
    def __init__(self, op: DeadmanOp, start_ns: int) -> None:
        self.op = op
        self.last_check = start_ns
        self.next_check = start_ns + op.interval_ns
        self.count: IntArray = np.zeros(0, np.int64)
        self.active: BoolArray = np.zeros(0, np.bool_)
        self.fired_at: IntArray = np.zeros(0, np.int64)
        # How many times each instance changed level: names its next event the same on
        # whichever interpreter computes it from the same saved state (its time is a check's).
        self.changes: IntArray = np.zeros(0, np.int64)

    def ensure(self, n: int) -> None:
        self.count = grow(self.count, n, 0)
        self.active = grow(self.active, n, False)
        self.fired_at = grow(self.fired_at, n, 0)
        self.changes = grow(self.changes, n, 0)

    def keep(self, idx: IntArray) -> None:
        self.count = self.count[idx]
        self.active = self.active[idx]
        self.fired_at = self.fired_at[idx]
        self.changes = self.changes[idx]

    def nbytes(self) -> int:
        return self.count.nbytes + self.active.nbytes + self.fired_at.nbytes + self.changes.nbytes


class DeadmanState:
    """Point counts, first-seen times and alert bits of every deadman() of a runtime (an
    InstanceState: one for all the statements, as they share the instances' first-seen times
    and tags). `start_ns` is when counting starts: the runtime's creation or restore."""

    section: ClassVar[Section] = "deadman"

    def __init__(self, ops: tuple[DeadmanOp, ...], start_ns: int) -> None:
        self.start_ns = start_ns
        self.ops = [_OpState(op, start_ns) for op in ops]
        self.since: IntArray = np.zeros(0, np.int64)  # clock time of each instance's first row
        self.tags: list[dict[str, str]] = []

    def __bool__(self) -> bool:
        return bool(self.ops)

    def ensure(self, n: int) -> None:
        self.since = grow(self.since, n, NO_TIME)
        for s in self.ops:
            s.ensure(n)

    def keep(self, idx: IntArray) -> None:
        """Keep only the instances `idx`, renumbered in that order."""
        self.since = self.since[idx]
        self.tags = [self.tags[i] if i < len(self.tags) else {} for i in idx.tolist()]
        for s in self.ops:
            s.keep(idx)

    def nbytes(self) -> int:
        return self.since.nbytes + sum(s.nbytes() for s in self.ops)

    def observe(
        self, ids: IntArray, counts: IntArray, now_ns: int, tags_of: Callable[[int], dict[str, str]]
    ) -> None:
        """Count `counts[g]` rows for instance `ids[g]`, seen at clock time `now_ns`."""
        new = ids[self.since[ids] == NO_TIME]
        self.since[new] = now_ns
        if new.shape[0]:
            top = int(new.max()) + 1
            if len(self.tags) < top:
                self.tags.extend({} for _ in range(top - len(self.tags)))
            for i in new.tolist():
                self.tags[i] = tags_of(i)
        for s in self.ops:
            s.count[ids] += counts

    def next_timer(self) -> int | None:
        return min((s.next_check for s in self.ops), default=None)

    def raised_instances(self, n: int) -> Iterator[tuple[DeadmanOp, int, int, dict[str, str]]]:
        """(statement, instance, when it fired, its tags) of every deadman raised now."""
        for s in self.ops:
            for i in np.flatnonzero(s.active[:n]).tolist():
                yield s.op, i, int(s.fired_at[i]), self.tags[i] if i < len(self.tags) else {}

    def raised(self, plugin: str, keys: list[str], many: bool) -> list[RaisedAlert]:
        """The deadmen raised now."""
        return [
            RaisedAlert(
                id=instance_alert_id(
                    op.id_template, plugin, keys[i], op.index, many, tags, op.topic
                ),
                plugin=plugin,
                instance=keys[i],
                tags=tags,
                level=op.level,
                since=since,
                topic=op.topic,
                category=op.category,
            )
            for op, i, since, tags in self.raised_instances(len(keys))
        ]

    def on_timer(
        self, now_ns: int, plugin: str, keys: list[str], many: bool
    ) -> list[tuple[int, int, AlertEvent]]:
        """Checks due at `now_ns` and early recoveries: (instance, statement, event) triples."""
        n = len(keys)
        out: list[tuple[int, int, AlertEvent]] = []
        for s in self.ops:
            op = s.op
            count, active = s.count[:n], s.active[:n]
            alive = count > op.threshold
            recover = active & alive
            fire = np.zeros(n, np.bool_)
            if now_ns >= s.next_check:
                watched = (self.since[:n] != NO_TIME) & (self.since[:n] <= s.last_check)
                fire = watched & ~active & ~alive
            for i in np.flatnonzero(recover | fire).tolist():
                up = bool(fire[i])
                duration = 0 if up else now_ns - int(s.fired_at[i])
                if up:
                    s.fired_at[i] = now_ns
                key = keys[i]
                template = op.message or (DEFAULT_FIRING if up else DEFAULT_RECOVERY)
                template = template.replace("{interval}", op.interval_text or f"{op.interval_ns}ns")
                event = build_event(
                    event_id=alert_id(plugin, key, op.index, many),
                    plugin=plugin,
                    instance=key,
                    tags=self.tags[i] if i < len(self.tags) else {},
                    level=op.level if up else "OK",
                    previous_level="OK" if up else op.level,
                    value=float(count[i]),
                    time=now_ns,
                    duration=duration,
                    op="<=",
                    threshold=op.threshold,
                    template=template,
                    change=int(s.changes[i]),
                    topic=op.topic,
                    id_template=op.id_template,
                    details=op.details,
                    category=op.category,
                )
                s.changes[i] += 1
                out.append((i, op.index, event))
            s.active[:n] = (active & ~recover) | fire
            if now_ns >= s.next_check:
                s.count[:n] = 0
                s.last_check = now_ns
                s.next_check = now_ns + op.interval_ns
        out.sort(key=lambda e: (e[0], e[1]))
        return out

    def restart(self, start_ns: int, n: int) -> None:
        """After a restore: every instance must be watched a full interval from `start_ns`."""
        self.since[:n] = np.where(self.since[:n] == NO_TIME, NO_TIME, start_ns)
        for s in self.ops:
            s.last_check = start_ns
            s.next_check = start_ns + s.op.interval_ns
            s.count[:n] = 0

    def snapshot(self, n: int) -> msgspec.Raw:
        """The statements' state (nil without deadman())."""
        if not self.ops:
            return msgspec.Raw(_NIL)
        return encode_part(
            DeadmanSnap(
                since=self.since[:n].astype("<i8").tobytes(),
                tags=[self.tags[i] if i < len(self.tags) else {} for i in range(n)],
                ops=[
                    _DeadmanSnap(
                        next_check=s.next_check,
                        last_check=s.last_check,
                        count=s.count[:n].astype("<i8").tobytes(),
                        active=s.active[:n].astype("?").tobytes(),
                        fired_at=s.fired_at[:n].astype("<i8").tobytes(),
                        changes=s.changes[:n].astype("<i8").tobytes()
                        if s.changes[:n].any()
                        else b"",
                    )
                    for s in self.ops
                ],
            )
        )

    def restore(self, data: msgspec.Raw, n: int) -> None:
        """Load the saved firing state; a restore is a restart, so counting starts afresh
        at `start_ns` (see the module's docs)."""
        if not self.ops:
            return
        if bytes(data) == _NIL:
            raise CodecError("snapshot does not match the program's deadman() statements")
        snap = decode_part(data, DeadmanSnap)
        if len(snap.ops) != len(self.ops) or len(snap.tags) != n:
            raise CodecError("snapshot does not match the program's deadman() statements")
        self.ensure(n)
        self.since[:n] = array_from(snap.since, "<i8", n)
        self.tags = [dict(t) for t in snap.tags]
        for s, ss in zip(self.ops, snap.ops, strict=True):
            s.next_check, s.last_check = ss.next_check, ss.last_check
            s.count[:n] = array_from(ss.count, "<i8", n)
            s.active[:n] = array_from(ss.active, "?", n)
            s.fired_at[:n] = array_from(ss.fired_at, "<i8", n)
            s.changes[:n] = array_from(ss.changes, "<i8", n) if ss.changes else 0
        self.restart(self.start_ns, n)
