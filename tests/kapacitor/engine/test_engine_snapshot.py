"""Snapshots keep their format: state saved by an earlier version restores and continues.

`golden/snapshot_v2.msgpack` was written by the runtime before its operator states shared one
lifecycle; the program below covers every kind of state (time, count and hopping windows,
shift, stream functions, alert levels, deadman).
"""

from __future__ import annotations

import random
from pathlib import Path

from engine_testkit import SECOND, Row, make_batch

from kapacitor.clock import ManualClock
from kapacitor.dsl.compile import compile_script
from kapacitor.engine import AlertEvent, PluginRuntime, build_program
from kapacitor.model.batch import FieldType

GOLDEN = Path(__file__).parent / "golden" / "snapshot_v2.msgpack"
SOURCE = """let w = window(x, 3s)
alert(avg(w) + max(window(x, 4)) + sum(window(x, 5, every=2)) + count(window(x, 4s, every=2s)), \
>, 60, warn=derivative(x) + 50, info=sigma(x) + 40)
alert(shift(x, 2) + shift(x, 2s) + cumulative_sum(x) + state_count(x > 5), >, 100)
deadman(0, 1m)
"""


def feed(
    rt: PluginRuntime, clock: ManualClock, batches: range, timers: bool = True
) -> list[AlertEvent]:
    """Batches `batches` of one seeded stream, each followed by 20 s of clock (and a timer)."""
    rng = random.Random(7)
    events: list[AlertEvent] = []
    for b in range(batches.stop):
        rows = [
            Row(rng.randrange(2), (b * 10 + i) * SECOND, {"x": float(rng.randint(0, 40))})
            for i in range(6)
        ]
        if b not in batches:
            continue
        batch, idx, keys, tags, _ = make_batch(rows, {"x": FieldType.FLOAT})
        events += rt.process(batch, idx, keys, tags).events
        clock.advance(20 * SECOND)
        if timers:
            events += rt.on_timer(clock.now_ns())
    return events


def runtime(clock: ManualClock) -> PluginRuntime:
    return PluginRuntime("p", build_program(compile_script(SOURCE)), clock)


def test_snapshot_bytes_are_those_of_the_previous_version() -> None:
    clock = ManualClock(5 * SECOND)
    rt = runtime(clock)
    feed(rt, clock, range(3))
    assert rt.snapshot() == GOLDEN.read_bytes()


def test_a_snapshot_of_the_previous_version_restores_and_continues() -> None:
    clock = ManualClock(5 * SECOND)
    whole = runtime(clock)
    feed(whole, clock, range(3))
    restarted = ManualClock(clock.now_ns() + 60 * SECOND)
    restored = runtime(restarted)
    restored.restore(GOLDEN.read_bytes())
    assert restored.instance_count == 2
    again = runtime(restarted)
    again.restore(whole.snapshot())
    assert restored.snapshot() == again.snapshot()
    # Points continue as if uninterrupted (deadman counting restarts: see test_engine_deadman).
    events = feed(restored, restarted, range(3, 8), timers=False)
    assert events == feed(whole, clock, range(3, 8), timers=False)
    assert len(events) > 0
