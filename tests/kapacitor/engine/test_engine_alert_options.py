"""alert()'s Kapacitor options, against Kapacitor 1.5's own integration tests (the points and
expected events of TestStream_AlertFlapping, _Alert_WithReset_0/1, _AlertStateChangesOnly,
_AlertStateChangesOnlyExpired and _Alert_NoRecoveries, from the conformance vectors), and
their snapshots."""

from __future__ import annotations

import numpy as np
import pytest
from engine_testkit import SECOND, Row, make_batch

from kapacitor.alerting.flapping import FlapRule
from kapacitor.clock import ManualClock
from kapacitor.dsl.compile import compile_script
from kapacitor.engine import AlertEvent, PluginRuntime, build_program
from kapacitor.model.batch import FieldType

# serverA's values, one a second from 0 s
FLAPPING = [97.1, 92.6, 95.6, 93.1, 92.6, 95.8, 92.7, 96.0, 93.4, 95.3, 92.4, 95.1]
RESET_0 = [45.0, 40.0, 30.0, 9.0, 45.0, 61.0, 30.0, 19.0, 45.0, 61.0, 81.0, 29.0]
RESET_1 = [45, 40, 30, 29, 45, 61, 49, 29, 45, 61, 81, 69, 50, 41, 25]
EXPIRED = [97.1, 92.6, 95.6, 93.1, 92.6, 95.8, 92.7, 96.0, 93.4, 95.3, 98.4, 97.1]
NO_RECOVERIES = [7.0, 2.0, 6.0, 7.0, 7.0, 8.0, 2.0, 6.0, 3.0, 5.0, 4.0, 5.0]


def run(source: str, values: list[float], batch_rows: int = 100) -> list[AlertEvent]:
    """`values` of one series (one a second from 0 s), in batches of `batch_rows`."""
    rt = PluginRuntime("cpu", build_program(compile_script(source)), ManualClock())
    rows = [Row(0, i * SECOND, {"value": float(v)}) for i, v in enumerate(values)]
    events: list[AlertEvent] = []
    for start in range(0, len(rows), batch_rows):
        batch, idx, keys, tags, _ = make_batch(
            rows[start : start + batch_rows], {"value": FieldType.FLOAT}
        )
        events += rt.process(batch, idx, keys, tags).events
    return events


def seen(events: list[AlertEvent]) -> list[tuple[str, int, int]]:
    """(level, second, duration in s) of the events handlers send."""
    return [(e.level, e.time // SECOND, e.duration // SECOND) for e in events if not e.suppressed]


@pytest.mark.parametrize("batch_rows", [1, 5, 100])
def test_flapping_as_kapacitor(batch_rows: int) -> None:
    source = (
        "alert(value, <, 93, warn=94, info=95, flapping_low=0.25, flapping_high=0.5, "
        "history=21, state_changes_only=false)"
    )
    assert len(seen(run(source, FLAPPING, batch_rows))) == 9  # Kapacitor's count


def test_flapping_share_weights_as_kapacitor() -> None:
    rule = FlapRule(0.25, 0.5, 4)  # weights 0.8, 0.9333, 1.0667
    # Newest entry in slot 1, so slot 2 is the oldest. Kapacitor compares slot 1 with 0
    # (0.8), then the oldest with the newest, 2 with 1 (0.9333: a change), then 3 with 2.
    ring = np.asarray([0, 0, 3, 3], np.int8)
    assert rule.share(ring, 1) == pytest.approx((0.8 + 0.4 / 3) / 3)
    assert rule.flapping(False, 0.51) and not rule.flapping(False, 0.5)
    assert rule.flapping(True, 0.25) and not rule.flapping(True, 0.24)


RESET_SOURCE = (
    "alert(value, >, 80, warn=60, info=40, reset={crit}, warn_reset={warn}, "
    "info_reset={info}, state_changes_only=false)"
)


@pytest.mark.parametrize("batch_rows", [1, 4, 100])
def test_resets_as_kapacitor_0(batch_rows: int) -> None:
    events = run(RESET_SOURCE.format(crit=30, warn=20, info=10), RESET_0, batch_rows)
    assert seen(events) == [
        ("INFO", 0, 0),
        ("INFO", 1, 1),
        ("INFO", 2, 2),  # 30 is not below info_reset=10: stays INFO
        ("OK", 3, 3),
        ("INFO", 4, 0),
        ("WARNING", 5, 1),
        ("WARNING", 6, 2),
        ("OK", 7, 3),
        ("INFO", 8, 0),
        ("WARNING", 9, 1),
        ("CRITICAL", 10, 2),
        ("OK", 11, 3),
    ]


def test_resets_as_kapacitor_1() -> None:
    events = run(RESET_SOURCE.format(crit=70, warn=50, info=30), RESET_1)
    assert [(level, t) for level, t, _ in seen(events)] == [
        ("INFO", 0),
        ("INFO", 1),
        ("INFO", 2),  # 30 is not below 30
        ("OK", 3),
        ("INFO", 4),
        ("WARNING", 5),
        ("INFO", 6),
        ("OK", 7),
        ("INFO", 8),
        ("WARNING", 9),
        ("CRITICAL", 10),
        ("WARNING", 11),  # 69 < 70: CRITICAL may drop, and 69 > 60
        ("WARNING", 12),  # 50 is not below 50
        ("INFO", 13),
        ("OK", 14),
    ]


def test_bool_alert_reset_is_a_condition() -> None:
    source = "alert(value > 80, ==, true, reset=value < 50)"
    events = run(source, [90, 70, 60, 40, 85])
    assert [(e.level, e.time // SECOND) for e in events] == [
        ("CRITICAL", 0),
        ("OK", 3),
        ("CRITICAL", 4),
    ]


def test_state_changes_only_is_the_default() -> None:
    events = run("alert(value, <, 93)", FLAPPING)
    assert len(events) == 8  # TestStream_AlertStateChangesOnly


@pytest.mark.parametrize("batch_rows", [1, 3, 100])
def test_renotify_interval_as_kapacitor(batch_rows: int) -> None:
    events = run("alert(value, <, 97, state_changes_only=2s)", EXPIRED, batch_rows)
    assert seen(events) == [
        ("CRITICAL", 1, 0),
        ("CRITICAL", 3, 2),
        ("CRITICAL", 5, 4),
        ("CRITICAL", 7, 6),
        ("CRITICAL", 9, 8),
        ("OK", 10, 9),
    ]
    assert [e.previous_level for e in events[1:3]] == ["CRITICAL", "CRITICAL"]


def test_no_recoveries_records_but_does_not_send_them() -> None:
    source = (
        "alert(value, >=, 8, warn=7, info=6, no_recoveries=true, state_changes_only=false, "
        'id="kapacitor/cpu/{host}")'
    )
    events = run(source, NO_RECOVERIES)
    assert seen(events) == [  # Kapacitor's six requests
        ("WARNING", 0, 0),
        ("INFO", 2, 0),
        ("WARNING", 3, 1),
        ("WARNING", 4, 2),
        ("CRITICAL", 5, 3),
        ("INFO", 7, 0),
    ]
    recoveries = [e for e in events if e.suppressed]
    assert [(e.level, e.time // SECOND) for e in recoveries] == [("OK", 1), ("OK", 6), ("OK", 8)]
    assert all(
        e.suppressed == "no_recoveries" and not e.recoverable for e in events if e.level == "OK"
    )
    assert {e.id for e in events} == {"kapacitor/cpu/h0"}


def test_id_and_details_templates() -> None:
    source = 'alert(value, >, 5, id="{host}:load", details="{host} at {value} is {level}")'
    fire, ok = run(source, [9, 1])
    assert (fire.id, fire.details) == ("h0:load", "h0 at 9 is CRITICAL")
    assert (ok.id, ok.details) == ("h0:load", "h0 at 1 is OK")
    assert fire.category == "" and fire.recoverable


def test_a_computed_message_that_is_no_template_is_sent_as_written_and_counted() -> None:
    source = 'alert(value, >, 5, message="{host} " + string(value) + " {")'
    (event,) = run(source, [9])
    assert event.message == "{host} 9 {"
    assert "is not a template" in event.template_error


def test_stepwise_state_survives_a_snapshot() -> None:
    source = "alert(value, <, 97, state_changes_only=2s, flapping_low=0.2, flapping_high=0.9)"
    program = build_program(compile_script(source))
    whole = PluginRuntime("cpu", program, ManualClock())
    first = PluginRuntime("cpu", program, ManualClock())
    rows = [Row(0, i * SECOND, {"value": v}) for i, v in enumerate(EXPIRED)]

    def feed(rt: PluginRuntime, part: list[Row]) -> list[AlertEvent]:
        batch, idx, keys, tags, _ = make_batch(part, {"value": FieldType.FLOAT})
        return rt.process(batch, idx, keys, tags).events

    expected = feed(whole, rows)
    got = feed(first, rows[:6])
    second = PluginRuntime("cpu", program, ManualClock())
    second.restore(first.snapshot())
    got += feed(second, rows[6:])
    assert got == expected


def test_raised_lists_the_alerts_not_ok_with_their_ids_and_episode_start() -> None:
    source = 'alert(value, >, 5, id="{host}:load", topic="cpu", category="sys")\ndeadman(0, 10s)'
    clock = ManualClock()
    rt = PluginRuntime("cpu", build_program(compile_script(source)), clock)
    rows = [Row(0, 1 * SECOND, {"value": 9.0}), Row(1, 2 * SECOND, {"value": 1.0})]
    batch, idx, keys, tags, _ = make_batch(rows, {"value": FieldType.FLOAT})
    rt.process(batch, idx, keys, tags)
    [raised] = rt.raised()
    assert (raised.id, raised.level, raised.since, raised.topic, raised.category) == (
        "h0:load",
        "CRITICAL",
        1 * SECOND,
        "cpu",
        "sys",
    )
    assert raised.tags == {"host": "h0"} and raised.instance == "cpu,host=h0"
    clock.advance(30 * SECOND)
    rt.on_timer(clock.now_ns())
    clock.advance(30 * SECOND)
    rt.on_timer(clock.now_ns())
    silent = {(a.id, a.level) for a in rt.raised()}
    assert ("cpu:cpu,host=h1#1", "CRITICAL") in silent  # its deadman


def test_a_runtime_reports_the_inhibitors_of_its_raised_instances() -> None:
    source = (
        'alert(value, ==, 0, inhibit="system", inhibit_tags="host")\n'
        'alert(value, <, 0, inhibit="net")\n'
        'deadman(0, 10s, inhibit="system", inhibit_tags="host, dc")'
    )
    clock = ManualClock()
    program = build_program(compile_script(source))
    assert program.inhibits
    rt = PluginRuntime("up", program, clock)
    rows = [Row(0, SECOND, {"value": 0.0}), Row(1, SECOND, {"value": 1.0})]
    batch, idx, keys, tags, _ = make_batch(rows, {"value": FieldType.FLOAT})
    rt.process(batch, idx, keys, tags)
    assert rt.inhibitors() == [("system", {"host": "h0"})]
    for _ in range(2):
        clock.advance(30 * SECOND)
        rt.on_timer(clock.now_ns())
    assert sorted(rt.inhibitors(), key=str) == sorted(
        [
            ("system", {"host": "h0"}),
            ("system", {"dc": "", "host": "h0"}),
            ("system", {"dc": "", "host": "h1"}),
        ],
        key=str,
    )
    assert not build_program(compile_script("alert(value, ==, 0)")).inhibits


def test_deadman_takes_id_details_and_category() -> None:
    source = 'deadman(0, 10s, id="{host}/up", details="{host} sent nothing", category="net")'
    clock = ManualClock()
    rt = PluginRuntime("up", build_program(compile_script(source)), clock)
    batch, idx, keys, tags, _ = make_batch(
        [Row(0, SECOND, {"value": 1.0})], {"value": FieldType.FLOAT}
    )
    rt.process(batch, idx, keys, tags)
    events = []
    for _ in range(3):
        clock.advance(10 * SECOND)
        events += rt.on_timer(clock.now_ns())
    [fired] = events
    assert (fired.id, fired.details, fired.category) == ("h0/up", "h0 sent nothing", "net")
    [raised] = rt.raised()
    assert (raised.id, raised.category) == ("h0/up", "net")
