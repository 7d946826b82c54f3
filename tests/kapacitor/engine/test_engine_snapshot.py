"""Snapshots keep their format: state saved by an earlier version restores and continues.

`golden/snapshot_v2.msgpack` was written by the runtime before its operator states shared one
lifecycle; the program below covers every kind of state (time, count and hopping windows,
shift, stream functions, alert levels, deadman).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from engine_testkit import SECOND, Row, make_batch

from kapacitor.clock import ManualClock
from kapacitor.dsl.compile import compile_script
from kapacitor.engine import AlertEvent, PluginRuntime, build_program
from kapacitor.errors import CodecError, PluginError
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


def tampered(data: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    doc = msgspec.msgpack.decode(data)
    change(doc)
    return msgspec.msgpack.encode(doc)


def set_path(*path: str | int, value: object) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (set_path("v", value=3), "unsupported snapshot version 3"),
        (set_path("windows", 0, "vals", value=b"abc"), "truncated"),
        (set_path("windows", 0, "lens", value=b""), "entries, expected 2"),
        (set_path("alerts", 1, "level", value=b"\x00\x09"), "unknown alert level"),
        (set_path("streams", 3, "count", value=b"\x00"), "truncated"),
        (set_path("newest", value=b"\x00" * 8), "entries, expected 2"),
        (set_path("deadman", value=None), "deadman() statements"),
        (set_path("keys", value=["a", "a"]), "duplicate instance keys"),
        (lambda doc: doc["windows"].pop(), "(windows: 5 saved, 6 expected)"),
        (lambda doc: doc["alerts"].append(doc["alerts"][0]), "(alerts: 3 saved, 2 expected)"),
        (set_path("alerts", value=[1, 2]), "undecodable"),
    ],
)
def test_a_bad_snapshot_fails_cleanly_and_leaves_the_runtime_new(
    change: Callable[[dict[str, Any]], None], message: str
) -> None:
    clock = ManualClock(5 * SECOND)
    rt = runtime(clock)
    feed(rt, clock, range(3))
    with pytest.raises(CodecError, match=re.escape(message)):
        rt.restore(tampered(GOLDEN.read_bytes(), change))
    assert rt.instance_count == 0
    fresh = runtime(ManualClock(clock.now_ns()))
    assert rt.snapshot() == fresh.snapshot()


def test_another_programs_snapshot_leaves_the_runtime_new() -> None:
    clock = ManualClock(5 * SECOND)
    rt = runtime(clock)
    feed(rt, clock, range(3))
    other = PluginRuntime("p", build_program(compile_script("alert(x, >, 1)")), clock)
    with pytest.raises(PluginError, match="another program"):
        rt.restore(other.snapshot())
    assert rt.instance_count == 0
