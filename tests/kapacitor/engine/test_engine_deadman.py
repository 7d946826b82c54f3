"""deadman(threshold, interval): wall-clock checks through the injected clock (ManualClock),
start-up and replay safety, recovery, snapshots, diagnostics, the host's tick, and the
vectorized state against a per-instance reference over random schedules."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
from engine_testkit import SECOND, Row, make_batch
from hypothesis import given, settings
from hypothesis import strategies as st

from kapacitor.clock import ManualClock
from kapacitor.dsl.compile import compile_script
from kapacitor.engine import AlertEvent, PluginRuntime, build_program
from kapacitor.errors import DslError
from kapacitor.host import PluginHost
from kapacitor.model.batch import FieldType
from kapacitor.plugins import PluginDefinition

F = {"x": FieldType.FLOAT}
MINUTE = 60 * SECOND


def runtime(source: str, clock: ManualClock) -> PluginRuntime:
    return PluginRuntime("p", build_program(compile_script(source)), clock)


def send(rt: PluginRuntime, *insts: int, t: int = 0) -> list[AlertEvent]:
    rows = [Row(i, t, {"x": 1.0}) for i in insts]
    batch, idx, keys, tags, _ = make_batch(rows, F)
    return rt.process(batch, idx, keys, tags).events


def run_seconds(
    rt: PluginRuntime, clock: ManualClock, until_s: int, points: dict[int, list[int]]
) -> list[tuple[int, str, str]]:
    """Advance the clock second by second to `until_s`, sending the points scheduled at each
    second (instance -> seconds) and ticking like the interpreter: (second, instance, level)."""
    out = []
    for s in range(1, until_s + 1):
        clock.set(s * SECOND)
        insts = [i for i, secs in points.items() if s in secs]
        if insts:
            send(rt, *insts, t=clock.now_ns())
        out += [(s, e.instance, e.level) for e in rt.on_timer(clock.now_ns())]
    return out


def test_no_alert_at_start_up_and_alert_after_a_silent_interval() -> None:
    clock = ManualClock(0)
    rt = runtime("deadman(0, 1m)", clock)
    assert rt.next_timer() == MINUTE
    # h0 sends every 10 s until 100 s; h1 only once, at 30 s.
    got = run_seconds(rt, clock, 400, {0: list(range(10, 101, 10)), 1: [30]})
    # Checks at 60, 120, 180 ... (each one a minute after the previous).
    # 60: nobody watched a whole period yet. 120: h1 (first seen 30 <= 60) had 0 points.
    # 180: h0's period [120, 180) is empty.
    assert got == [(120, "cpu,host=h1", "CRITICAL"), (180, "cpu,host=h0", "CRITICAL")]


def test_recovers_as_soon_as_points_flow_again() -> None:
    clock = ManualClock(0)
    rt = runtime('deadman(0, 1m, level="warning", message="{instance} silent: {value}")', clock)
    got = run_seconds(rt, clock, 200, {0: [5, 150]})
    assert got == [(120, "cpu,host=h0", "WARNING"), (150, "cpu,host=h0", "OK")]
    clock2 = ManualClock(0)
    rt2 = runtime('deadman(0, 1m, message="{instance} silent: {value}")', clock2)
    send(rt2, 0, t=0)
    assert rt2.on_timer(60 * SECOND) == []  # one point in [0, 60)
    [fire] = rt2.on_timer(121 * SECOND)
    assert fire.message == "cpu,host=h0 silent: 0" and fire.time == 121 * SECOND
    assert fire.id == "p:cpu,host=h0" and fire.tags == {"host": "h0"}
    send(rt2, 0, t=0)
    [ok] = rt2.on_timer(125 * SECOND)
    assert (ok.level, ok.previous_level, ok.duration) == ("OK", "CRITICAL", 4 * SECOND)


def test_threshold_counts_points_per_interval() -> None:
    clock = ManualClock(0)
    rt = runtime("deadman(2, 1m)\nalert(x, >, 100)", clock)
    # 3 points per minute until 120 s, then 2 per minute (at or below the threshold).
    sched = {0: [5, 25, 45, 65, 85, 105, 130, 150, 190, 210]}
    got = run_seconds(rt, clock, 200, sched)
    assert got == [(180, "cpu,host=h0", "CRITICAL")]
    events = rt.on_timer(clock.now_ns())
    assert events == []
    assert rt.program.alert_count == 2


def test_default_messages_and_ids_with_two_statements() -> None:
    clock = ManualClock(0)
    rt = runtime("alert(x, >, 100)\ndeadman(0, 30s)", clock)
    send(rt, 3, t=0)
    assert rt.on_timer(30 * SECOND) == []  # [0, 30) had its point
    [fire] = rt.on_timer(60 * SECOND)
    assert fire.id == "p:cpu,host=h3#1"
    assert fire.message == "p cpu,host=h3 is CRITICAL: 0 points in 30s, at most 0 allowed"
    send(rt, 3, t=0)
    [ok] = rt.on_timer(61 * SECOND)
    assert ok.message == "p cpu,host=h3 is OK: points arrive again (was CRITICAL)"


def test_replay_driven_by_event_time_raises_no_false_alert() -> None:
    """A replay of last week's data at full speed: the runtime's clock follows event time, so
    the wall clock (which moves on after the replay) never makes the instance look dead."""
    t0 = 1_700_000_000 * SECOND
    replay_clock = ManualClock(t0)
    rt = runtime("deadman(0, 1m)", replay_clock)
    events = []
    for k in range(600):  # 10 minutes of one point per second, delivered instantly
        t = t0 + k * SECOND
        replay_clock.set(t)
        events += send(rt, 0, t=t)
        events += rt.on_timer(replay_clock.now_ns())
    assert events == []
    # The replay is over: its clock stops, so no check ever comes due.
    assert rt.on_timer(replay_clock.now_ns()) == []
    # A gap in the replayed data is still detected, in event time.
    gap = t0 + 900 * SECOND
    replay_clock.set(gap)
    assert [e.level for e in rt.on_timer(gap)] == []  # the period just ended had points
    replay_clock.set(gap + MINUTE)
    assert [e.level for e in rt.on_timer(gap + MINUTE)] == ["CRITICAL"]


def test_restore_keeps_firing_state_and_restarts_counting() -> None:
    clock = ManualClock(0)
    rt = runtime("deadman(0, 1m)", clock)
    send(rt, 0, 1, t=0)
    clock.set(10 * SECOND)
    send(rt, 1, t=0)
    assert rt.on_timer(60 * SECOND) == []
    clock.set(90 * SECOND)
    send(rt, 1, t=0)
    fired = rt.on_timer(120 * SECOND)
    assert [e.instance for e in fired] == ["cpu,host=h0"]
    data = rt.snapshot()
    # Restarted much later: nobody's points were counted while it was down.
    clock.set(1000 * SECOND)
    rt2 = runtime("deadman(0, 1m)", clock)
    rt2.restore(data)
    assert rt2.next_timer() == 1060 * SECOND
    assert rt2.on_timer(1000 * SECOND) == []
    # Both were watched for [1000, 1060) and got nothing; h0 was firing already: no new event.
    fired = rt2.on_timer(1060 * SECOND)
    assert [e.instance for e in fired] == ["cpu,host=h1"]
    send(rt2, 0, t=0)
    [ok] = rt2.on_timer(1121 * SECOND)
    assert (ok.instance, ok.level, ok.duration) == ("cpu,host=h0", "OK", 1001 * SECOND)


def test_host_tick_delivers_deadman_events() -> None:
    clock = ManualClock(0)
    host = PluginHost(clock)
    host.sync(
        [
            PluginDefinition(
                name="dm", from_="cpu", script="deadman(0, 1m)", enabled=True, revision=1
            )
        ]
    )
    rows = [Row(0, 0, {"x": 1.0})]
    batch, _, _, _, _ = make_batch(rows, F)
    host.process("dm", batch)
    assert host.tick(60 * SECOND) == []
    [(plugin, [event])] = host.tick(120 * SECOND)
    assert plugin == "dm" and event.level == "CRITICAL"
    assert host.plugin_stats("dm").alerts_fired == 1


def test_a_deadman_event_recomputed_from_saved_state_has_the_same_name() -> None:
    """A partition's new owner restores state saved before the event fired and fires it
    again, at a later check: the event is named the same (by the alert's count of level
    changes, not its time), so the ALERTS stream stores it once."""
    from kapacitor.alerting.document import event_id

    d = PluginDefinition(name="dm", from_="cpu", script="deadman(0, 1m)", enabled=True)
    first = PluginHost(ManualClock(0))
    first.sync([d])
    first.open_partition(0, {})
    batch, _, _, _, _ = make_batch([Row(0, 0, {"x": 1.0})], F)
    first.process("dm", batch)
    first.tick(60 * SECOND)
    saved = first.partition_state(0)  # the last save before the event
    [(_, [fired])] = first.tick(120 * SECOND)
    again = PluginHost(ManualClock(300 * SECOND))
    again.sync([d])
    again.open_partition(0, saved)
    [(_, [refired])] = again.tick(360 * SECOND)
    assert (refired.level, refired.instance) == (fired.level, fired.instance)
    assert refired.time != fired.time and event_id(refired) == event_id(fired)
    # The next change of the same alert is another event.
    batch, _, _, _, _ = make_batch([Row(0, 0, {"x": 1.0})] * 3, F)
    again.process("dm", batch)
    [(_, [ok])] = again.tick(421 * SECOND)
    assert ok.level == "OK" and event_id(ok) != event_id(refired)


@pytest.mark.parametrize(
    ("source", "message", "col"),
    [
        ("deadman(-1, 1m)", "threshold is a number of points per interval, >= 0", 9),
        ("deadman(0, 0s)", "interval must be longer than 0", 12),
        ("deadman(0, 5)", "expects a duration for 'interval'", 12),
        ('deadman(0, 1m, level="fatal")', "unknown alert level 'fatal'", 22),
        ("let d = deadman(0, 1m)\nalert(x, >, 1)", "cannot be bound with let", 9),
        ("alert(deadman(0, 1m), >, 1)", "expects", 7),
        ("deadman(x, 1m)", "must be known when the script is defined", 9),
    ],
)
def test_diagnostics(source: str, message: str, col: int) -> None:
    with pytest.raises(DslError) as e:
        build_program(compile_script(source))
    assert message in str(e.value)
    assert e.value.span.col == col


# -- against a per-instance reference ------------------------------------------------------


@dataclass
class _RefInst:
    since: int
    count: int = 0
    active: bool = False
    fired_at: int = 0


class DeadmanReference:
    def __init__(self, threshold: float, interval: int, start: int) -> None:
        self.threshold, self.interval = threshold, interval
        self.last_check, self.next_check = start, start + interval
        self.insts: dict[str, _RefInst] = {}
        self.order: list[str] = []

    def rows(self, keys: list[str], now: int) -> None:
        for k in keys:
            if k not in self.insts:
                self.insts[k] = _RefInst(now)
                self.order.append(k)
            self.insts[k].count += 1

    def tick(self, now: int) -> list[tuple[str, str, float, int]]:
        due = now >= self.next_check
        out = []
        for k in self.order:
            s = self.insts[k]
            if s.active and s.count > self.threshold:
                s.active = False
                out.append((k, "OK", float(s.count), now - s.fired_at))
            elif due and not s.active and s.since <= self.last_check:
                if s.count <= self.threshold:
                    s.active, s.fired_at = True, now
                    out.append((k, "CRITICAL", float(s.count), 0))
        if due:
            for s in self.insts.values():
                s.count = 0
            self.last_check, self.next_check = now, now + self.interval
        return out


# dear: each example simulates a whole stream of timers
@settings(max_examples=settings.default.max_examples * 4 // 5)
@given(
    seed=st.integers(0, 2**32),
    threshold=st.sampled_from([0, 1, 2.5]),
    n_inst=st.integers(1, 5),
    restore_at=st.integers(-1, 60),
)
def test_deadman_matches_reference(
    seed: int, threshold: float, n_inst: int, restore_at: int
) -> None:
    rng = random.Random(seed)
    interval = 10 * SECOND
    clock = ManualClock(rng.randrange(0, 5) * SECOND)
    source = f"deadman({threshold}, 10s)"
    rt = runtime(source, clock)
    ref = DeadmanReference(threshold, interval, clock.now_ns())
    rates = [rng.choice([0.0, 0.05, 0.3, 0.8]) for _ in range(n_inst)]
    for step in range(120):
        clock.advance(rng.choice([0, 1, 1, 2, 7]) * SECOND // 2)
        now = clock.now_ns()
        if rng.random() < 0.1:  # a rate change: instances go quiet or come back
            rates[rng.randrange(n_inst)] = rng.choice([0.0, 0.3, 0.9])
        rows = [i for i in range(n_inst) for _ in range(3) if rng.random() < rates[i]]
        rng.shuffle(rows)
        late_times = [rng.choice([0, 0, -5]) * SECOND for _ in rows]
        if rows:
            batch_rows = [
                Row(i, now + dt, {"x": 1.0}) for i, dt in zip(rows, late_times, strict=True)
            ]
            batch, idx, keys, tags, _ = make_batch(batch_rows, F)
            rt.process(batch, idx, keys, tags)
            ref.rows([keys[int(k)] for k in idx], now)
        if step == restore_at:
            data = rt.snapshot()
            rt = runtime(source, clock)
            rt.restore(data)
            ref.last_check, ref.next_check = now, now + interval
            for s in ref.insts.values():
                s.count, s.since = 0, now
        got = [(e.instance, e.level, e.value, e.duration) for e in rt.on_timer(now)]
        expected = ref.tick(now)
        assert sorted(got) == sorted(expected)
