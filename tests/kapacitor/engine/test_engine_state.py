"""One lifecycle for per-instance state: every state kind grows, keeps a subset of its
instances and round-trips its snapshot part the same way (kapacitor/engine/state.py)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from engine_testkit import SECOND, Row, make_batch

from kapacitor.clock import ManualClock
from kapacitor.dsl.compile import compile_script
from kapacitor.engine import PluginRuntime, build_program
from kapacitor.engine.snapshot import decode
from kapacitor.engine.state import STATE_CLASSES, operator_state
from kapacitor.model.batch import FieldType

# Every kind of state: time, count and hopping windows, shift, stream functions, alerts,
# deadman() (and the runtime's arrivals).
SOURCE = """let w = window(x, 3s)
alert(avg(w) + max(window(x, 4)) + sum(window(x, 5, every=2)) + count(window(x, 4s, every=2s)), \
>, 60, warn=derivative(x) + 50, info=sigma(x) + 40)
alert(shift(x, 2) + shift(x, 2s) + cumulative_sum(x) + state_count(x > 5) + sample(x, 2), \
>, 100)
deadman(3, 10s)
"""


def run(seed: int, dropped: int | None = None) -> PluginRuntime:
    """A runtime fed a seeded stream of 4 instances (without instance `dropped`'s rows)."""
    clock = ManualClock(SECOND)
    rt = PluginRuntime("p", build_program(compile_script(SOURCE)), clock)
    rng = random.Random(seed)
    for b in range(5):
        rows = [
            Row(rng.randrange(4), (b * 20 + i) * SECOND, {"x": float(rng.randint(0, 40))})
            for i in range(20)
        ]
        rows = [r for r in rows if r.inst != dropped]
        batch, idx, keys, tags, _ = make_batch(rows, {"x": FieldType.FLOAT})
        rt.process(batch, idx, keys, tags)
        clock.advance(7 * SECOND)
        rt.on_timer(clock.now_ns())
    return rt


def test_every_state_class_is_made_for_its_operator() -> None:
    rt = run(1)
    kinds = {type(s) for s in rt.states}
    assert kinds == set(STATE_CLASSES)
    stateful = [op for op in rt.program.ops if operator_state(op) is not None]
    assert len(rt.states) == 1 + len(stateful) + 1  # arrivals, the operators', deadman()


@pytest.mark.parametrize("seed", range(4))
def test_keep_is_as_if_the_others_never_were(seed: int) -> None:
    everyone = run(seed)
    without = run(seed, dropped=1)
    keys = decode(everyone.snapshot()).keys
    kept_keys = decode(without.snapshot()).keys
    kept = np.array([keys.index(k) for k in kept_keys], np.int64)
    assert (np.diff(kept) > 0).all()
    n = len(kept)
    for state, other in zip(everyone.states, without.states, strict=True):
        state.keep(kept)
        assert state.snapshot(n) == other.snapshot(n), type(state).__name__


@pytest.mark.parametrize("seed", range(4))
def test_every_part_restores_into_a_fresh_state(seed: int) -> None:
    rt = run(seed)
    n = rt.instance_count
    fresh = PluginRuntime("p", rt.program, ManualClock(SECOND))
    for state, new in zip(rt.states, fresh.states, strict=True):
        assert new.section == state.section
        new.ensure(n)
        new.restore(state.snapshot(n), n)
        if state.section != "deadman":  # a restore is a restart for deadman()
            assert new.snapshot(n) == state.snapshot(n)
        assert new.nbytes() > 0


def test_ensure_grows_and_keep_all_changes_nothing() -> None:
    rt = run(5)
    n = rt.instance_count
    for state in rt.states:
        before, size = state.snapshot(n), state.nbytes()
        state.ensure(4 * n + 100)
        assert state.nbytes() > size
        assert state.snapshot(n) == before
        state.keep(np.arange(n, dtype=np.int64))
        assert state.snapshot(n) == before


def test_state_bytes_sums_the_states() -> None:
    rt = run(2)
    assert rt.state_bytes() > sum(s.nbytes() for s in rt.states) > 0
