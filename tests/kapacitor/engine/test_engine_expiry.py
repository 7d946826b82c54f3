"""Instance expiry (PluginRuntime.expire): an instance silent for the idle time is forgotten,
and afterwards behaves exactly like a new one; the others continue untouched."""

from __future__ import annotations

import random

import pytest
from engine_testkit import SECOND, Row, make_batch

from kapacitor.clock import ManualClock
from kapacitor.dsl.compile import compile_script
from kapacitor.engine import AlertEvent, PluginRuntime, build_program
from kapacitor.model.batch import FieldType

F = {"x": FieldType.FLOAT}
SCRIPTS = [
    "alert(avg(window(x, 3)), >, 30.5, warn=20.5)",
    "alert(sum(window(x, 5s)), >, 100.5)",
    "alert(count(window(x, 4s, every=2s)), >=, 2)",
    "alert(derivative(x) + difference(x) + shift(x, 2), >, 10.5)\n"
    "alert(state_count(x > 30), >=, 2)",
    "alert(max(window(x, 2, every=2)) - shift(x, 1s), >, 5.5)",
]


def run(
    source: str, batches: list[list[Row]], expire_after: int | None, idle: int
) -> list[AlertEvent]:
    """Feed `batches` one per second of the clock; expire before batch `expire_after`."""
    clock = ManualClock(0)
    rt = PluginRuntime("p", build_program(compile_script(source)), clock)
    events = []
    for k, rows in enumerate(batches):
        clock.set(k * SECOND)
        if k == expire_after:
            rt.expire(idle)
        if rows:
            batch, idx, keys, tags, _ = make_batch(rows, F)
            events += rt.process(batch, idx, keys, tags).events
    return events


@pytest.mark.parametrize("source", SCRIPTS)
@pytest.mark.parametrize("seed", range(6))
def test_an_expired_instance_restarts_like_a_new_one(source: str, seed: int) -> None:
    rng = random.Random(seed)
    n_batches, split, idle = 24, 12, 3 * SECOND
    batches: list[list[Row]] = [[] for _ in range(n_batches)]
    for k in range(n_batches):
        for inst in range(4):
            # instances 0 and 1 fall silent for the idle time before the split: they expire
            silent = inst < 2 and split - 4 <= k < split
            if not silent and rng.random() < 0.8:
                batches[k].append(Row(inst, k * SECOND, {"x": float(rng.randint(0, 60))}))
    expired = run(source, batches, split, idle)
    # The same stream without the expired instances' rows before the split, and no expiry:
    fresh = [[r for r in rows if not (r.inst < 2 and k < split)] for k, rows in enumerate(batches)]
    never = run(source, fresh, None, idle)
    after = [e for e in expired if e.time >= split * SECOND]
    assert after == [e for e in never if e.time >= split * SECOND]
    assert after  # the data makes every script fire after the split


def test_expire_counts_and_frees_instances() -> None:
    clock = ManualClock(0)
    rt = PluginRuntime("p", build_program(compile_script(SCRIPTS[0])), clock)
    rows = [Row(i, 0, {"x": 1.0}) for i in range(100)]
    batch, idx, keys, tags, _ = make_batch(rows, F)
    rt.process(batch, idx, keys, tags)
    clock.set(10 * SECOND)
    batch, idx, keys, tags, _ = make_batch([Row(7, 10 * SECOND, {"x": 1.0})], F)
    rt.process(batch, idx, keys, tags)
    held = rt.state_bytes()
    assert held > 100 * 3 * 8  # at least the window values of 100 instances
    assert rt.expire(5 * SECOND) == 99
    assert rt.instance_count == 1
    assert rt.state_bytes() < held - 99 * 50  # each key alone takes more than 50 bytes
    assert rt.expire(5 * SECOND) == 0
    restored = PluginRuntime("p", build_program(compile_script(SCRIPTS[0])), clock)
    restored.restore(rt.snapshot())
    assert restored.instance_count == 1


def test_deadman_plugins_keep_their_instances() -> None:
    clock = ManualClock(0)
    rt = PluginRuntime("p", build_program(compile_script("deadman(0, 1m)")), clock)
    batch, idx, keys, tags, _ = make_batch([Row(0, 0, {"x": 1.0})], F)
    rt.process(batch, idx, keys, tags)
    clock.set(3600 * SECOND)
    assert rt.expire(SECOND) == 0
    assert rt.instance_count == 1


def test_max_instances_refuses_new_instances_until_room_is_made() -> None:
    clock = ManualClock(0)
    program = build_program(compile_script(SCRIPTS[0]))
    rt = PluginRuntime("p", program, clock, max_instances=2)
    rows = [Row(i % 3, 0, {"x": 40.0}) for i in range(9)]
    batch, idx, keys, tags, _ = make_batch(rows, F)
    result = rt.process(batch, idx, keys, tags)
    assert (result.points, result.refused, rt.instance_count) == (6, 3, 2)
    assert rt.stats.points_refused == 3
    admitted = {e.instance for e in result.events}
    assert len(admitted) == 2  # three 40s each: both admitted instances fire
    # the same rows without the refused instance give the same events
    kept = [r for r in rows if keys[int(idx[rows.index(r)])] in admitted]
    unlimited = PluginRuntime("p", program, ManualClock(0))
    batch2, idx2, keys2, tags2, _ = make_batch(kept, F)
    assert unlimited.process(batch2, idx2, keys2, tags2).events == result.events
    # once an instance expires, the refused one gets its place
    clock.set(10 * SECOND)
    one = next(r for r in rows if keys[int(idx[rows.index(r)])] in admitted)
    batch, idx, keys, tags, _ = make_batch([Row(one.inst, 10 * SECOND, {"x": 1.0})], F)
    rt.process(batch, idx, keys, tags)
    assert rt.expire(5 * SECOND) == 1
    batch, idx, keys, tags, _ = make_batch([Row(i, 11 * SECOND, {"x": 1.0}) for i in range(3)], F)
    result = rt.process(batch, idx, keys, tags)
    assert (result.points, result.refused, rt.instance_count) == (2, 1, 2)


def test_a_raised_alert_forgotten_by_expiry_says_so() -> None:
    clock = ManualClock(0)
    source = 'alert(x, >, 30, id="{host}/x", topic="cpu")\nalert(x, >, 100)'
    rt = PluginRuntime("p", build_program(compile_script(source)), clock)
    rows = [Row(0, 1 * SECOND, {"x": 40.0}), Row(1, 1 * SECOND, {"x": 1.0})]
    batch, idx, keys, tags, _ = make_batch(rows, F)
    rt.process(batch, idx, keys, tags)
    clock.set(20 * SECOND)
    gone, events = rt.expire_with_events(5 * SECOND)
    assert gone == 2 and rt.instance_count == 0
    [event] = events  # only the raised alert of the two instances, not the OK ones
    assert (event.id, event.level, event.previous_level, event.expired) == (
        "h0/x",
        "OK",
        "CRITICAL",
        True,
    )
    assert (event.time, event.duration, event.topic) == (20 * SECOND, 19 * SECOND, "cpu")
    assert event.message == "p cpu,host=h0 is no longer watched: no point for 5s (was CRITICAL)"
    assert rt.expire_with_events(5 * SECOND) == (0, [])
