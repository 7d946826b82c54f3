"""Explicit runtime scenarios: events, messages, skipping, late points, snapshots, inputs."""

from __future__ import annotations

import numpy as np
import pytest
from engine_testkit import SECOND, Row, agg, alert, make_batch, planned, script, win

from kapacitor.clock import ManualClock
from kapacitor.dsl.ast import Call, Ident
from kapacitor.dsl.compile import compile_script
from kapacitor.engine import AlertEvent, PluginRuntime, build_program, evaluate
from kapacitor.errors import CodecError, PluginError
from kapacitor.model.batch import FieldType

F = {"x": FieldType.FLOAT}


def runtime_for(*stmts: object, plugin: str = "cpu") -> PluginRuntime:
    return PluginRuntime(plugin, planned(script(*stmts)), ManualClock())  # type: ignore[arg-type]


def feed(rt: PluginRuntime, rows: list[Row], types: dict[str, FieldType] = F) -> list[AlertEvent]:
    batch, idx, keys, tags, _ = make_batch(rows, types)
    return rt.process(batch, idx, keys, tags).events


def series(inst: int, values: list[float | None], start: int = 0) -> list[Row]:
    return [
        Row(inst, (start + i) * SECOND, {} if v is None else {"x": v}) for i, v in enumerate(values)
    ]


def test_count_window_fires_and_recovers_with_duration_and_messages() -> None:
    rt = runtime_for(alert(agg("avg", win("x", 2)), "<", 30))
    events = feed(rt, series(0, [50, 20, 20, 60, 60]))
    assert [(e.level, e.previous_level, e.time, e.duration) for e in events] == [
        ("CRITICAL", "OK", 2 * SECOND, 0),
        ("OK", "CRITICAL", 3 * SECOND, 1 * SECOND),
    ]
    fire, ok = events
    assert fire.id == "cpu:cpu,host=h0" and fire.instance == "cpu,host=h0"
    assert fire.tags == {"host": "h0"} and fire.value == 20.0
    assert fire.message == "cpu cpu,host=h0 is CRITICAL: value 20 < 30"
    assert ok.message == "cpu cpu,host=h0 is OK: value 40 < 30 no longer holds (was CRITICAL)"
    assert rt.stats.alerts_fired == 1 and rt.stats.recoveries == 1


def test_nothing_is_evaluated_until_the_window_is_full() -> None:
    rt = runtime_for(alert(agg("avg", win("x", 3)), "<", 30))
    assert feed(rt, series(0, [1, 1])) == []
    assert [e.time for e in feed(rt, series(0, [1], start=2))] == [2 * SECOND]


def test_time_window_waits_for_full_span_and_drops_late_points() -> None:
    rt = runtime_for(alert(agg("count", win("x", "3s")), ">=", 3))
    rows = [*series(0, [1, 1, 1]), Row(0, 1 * SECOND, {"x": 1.0}), *series(0, [1], start=3)]
    batch, idx, keys, tags, _ = make_batch(rows, F)
    result = rt.process(batch, idx, keys, tags)
    # t=3s is the first point whose span (0s, 3s] is covered; window holds 1s, 2s, 3s.
    assert [(e.level, e.time, e.value) for e in result.events] == [("CRITICAL", 3 * SECOND, 3.0)]
    assert (result.points, result.skipped, result.late) == (4, 0, 1)
    assert rt.stats.points_late == 1


def test_missing_and_non_numeric_fields_are_skipped_not_fatal() -> None:
    rt = runtime_for(alert(Ident("x"), ">", 5))
    batch, idx, keys, tags, _ = make_batch(series(0, [1, None, 9]), {"x": FieldType.STRING})
    assert rt.process(batch, idx, keys, tags).skipped == 3
    events = feed(rt, series(0, [1, None, 9]), {"x": FieldType.INT})
    assert [e.value for e in events] == [9.0]
    assert rt.stats.points_skipped == 4 and rt.stats.points_processed == 2


def test_events_follow_batch_row_order_across_instances_and_alerts() -> None:
    rt = runtime_for(alert(Ident("x"), ">", 5), alert(Ident("x"), ">", 7, level="WARNING"))
    rows = [Row(1, 0, {"x": 9.0}), Row(0, 0, {"x": 6.0}), Row(1, SECOND, {"x": 1.0})]
    events = feed(rt, rows)
    assert [(e.id, e.level) for e in events] == [
        ("cpu:cpu,host=h1#0", "CRITICAL"),
        ("cpu:cpu,host=h1#1", "WARNING"),
        ("cpu:cpu,host=h0#0", "CRITICAL"),
        ("cpu:cpu,host=h1#0", "OK"),
        ("cpu:cpu,host=h1#1", "OK"),
    ]


def test_user_message_template_with_tags_and_unknown_placeholders() -> None:
    rt = runtime_for(alert(Ident("x"), ">", 5, message="{host} at {value} ({level}) {nope}"))
    assert [e.message for e in feed(rt, series(3, [9]))] == ["h3 at 9 (CRITICAL) {nope}"]


def test_levels_escalate_and_de_escalate_in_one_episode() -> None:
    rt = runtime_for(alert(Ident("x"), ">", 90, warn=80, info=70))
    events = feed(rt, series(0, [50, 75, 85, 95, 85, 60, 72]))
    assert [
        (e.level, e.previous_level, e.time // SECOND, e.duration // SECOND) for e in events
    ] == [
        ("INFO", "OK", 1, 0),
        ("WARNING", "INFO", 2, 1),
        ("CRITICAL", "WARNING", 3, 2),
        ("WARNING", "CRITICAL", 4, 3),
        ("OK", "WARNING", 5, 4),
        ("INFO", "OK", 6, 0),
    ]
    assert [e.message for e in events[:2]] + [events[4].message] == [
        "cpu cpu,host=h0 is INFO: value 75 > 70",
        "cpu cpu,host=h0 is WARNING: value 85 > 80",
        "cpu cpu,host=h0 is OK: value 60 > 80 no longer holds (was WARNING)",
    ]
    assert len({e.id for e in events}) == 1
    assert (rt.stats.alerts_fired, rt.stats.recoveries) == (5, 1)


def test_message_expressions_are_computed_per_point() -> None:
    from kapacitor.dsl.compile import compile_script

    source = (
        'let msg = tag("host") + " at " + string(round(x)) + " with " + state\n'
        'alert(x, >, 5, message=msg + " ({level})")'
    )
    rt = PluginRuntime("cpu", build_program(compile_script(source)), ManualClock())
    types = {"x": FieldType.FLOAT, "state": FieldType.STRING}
    rows = [
        Row(3, 1 * SECOND, {"x": 9.4, "state": "busy"}),
        Row(3, 2 * SECOND, {"x": 1.0}),  # no state: the default message
        Row(3, 3 * SECOND, {"x": 7.0, "state": "{busy}"}),
    ]
    assert [e.message for e in feed(rt, rows, types)] == [
        "h3 at 9 with busy (CRITICAL)",
        "cpu cpu,host=h3 is OK: value 1 > 5 no longer holds (was CRITICAL)",
        "h3 at 7 with {busy} (CRITICAL)",
    ]


def test_now_minus_time_uses_the_injected_clock() -> None:
    from kapacitor.dsl.ast import Binary, Duration

    clock = ManualClock(100 * SECOND)
    stmt = alert(Binary("-", Call("now"), Call("time")), ">", Duration(30 * SECOND, "30s"))
    rt = PluginRuntime("lag", planned(script(stmt)), clock)
    events = feed(rt, [Row(0, 50 * SECOND, {}), Row(0, 90 * SECOND, {})], {})
    assert [(e.level, e.time) for e in events] == [("CRITICAL", 50 * SECOND), ("OK", 90 * SECOND)]


def test_restore_rejects_another_program_and_garbage() -> None:
    rt = runtime_for(alert(agg("avg", win("x", 2)), "<", 30))
    feed(rt, series(0, [1, 2, 3]))
    other = runtime_for(alert(agg("avg", win("x", 3)), "<", 30))
    with pytest.raises(PluginError):
        other.restore(rt.snapshot())
    with pytest.raises(CodecError):
        other.restore(b"\x00not msgpack")


def test_snapshot_keeps_window_and_alert_state() -> None:
    stmt = alert(agg("avg", win("x", "2s")), "<", 30)
    rt = runtime_for(stmt)
    feed(rt, series(0, [10, 10, 10]))
    fresh = runtime_for(stmt)
    fresh.restore(rt.snapshot())
    assert fresh.instance_count == 1
    events = feed(fresh, series(0, [90, 90], start=3))
    assert [(e.level, e.duration) for e in events] == [("OK", SECOND)]


def test_bad_inputs_raise_plugin_error_and_count() -> None:
    rt = runtime_for(alert(Ident("x"), ">", 5))
    batch, idx, keys, tags, _ = make_batch(series(0, [1, 2]), F)
    with pytest.raises(PluginError):
        rt.process(batch, idx[:1], keys, tags)
    with pytest.raises(PluginError):
        rt.process(batch, np.array([0, 9]), keys, tags)
    assert rt.stats.errors == 2
    empty, eidx, _, _, _ = make_batch([], F)
    assert rt.process(empty, eidx, [], []).events == []


def test_many_instances_in_one_batch_grow_state() -> None:
    rt = runtime_for(alert(agg("min", win("x", 2)), "<", 0))
    rows = [Row(i % 500, (i // 500) * SECOND, {"x": -1.0}) for i in range(1500)]
    events = feed(rt, rows)
    assert len(events) == 500 and rt.instance_count == 500
    assert {e.time for e in events} == {SECOND}


def test_evaluate_returns_every_column_by_working_and_batch_row() -> None:
    program = build_program(compile_script("let d = x * 2\nalert(d, >, 5)"))
    rows = [
        Row(1, SECOND, {"x": 1.0}),
        Row(0, 2 * SECOND, {}),
        Row(1, 3 * SECOND, {"x": 4.0}),
        Row(0, 4 * SECOND, {"x": 3.0}),
    ]
    batch, idx, keys, tags, _ = make_batch(rows, F)
    evaluation = evaluate(program, batch, idx, keys, tags, plugin="cpu")
    d = program.alerts[0].value
    assert evaluation.by_row(d) == [2.0, None, 8.0, 6.0]
    assert sorted(evaluation.rows.tolist()) == [0, 1, 2, 3] and evaluation.size == 4
    assert evaluation.columns[-1] is None  # alert() yields no column
    result = evaluation.result
    assert [(e.id, e.time) for e in result.events] == [
        ("cpu:cpu,host=h1", 3 * SECOND),
        ("cpu:cpu,host=h0", 4 * SECOND),
    ]
    assert (result.points, result.skipped) == (3, 1)


def test_runtime_evaluate_carries_state_and_counts_like_process() -> None:
    program = planned(script(alert(agg("sum", win("x", 2)), ">", 5)))
    rt = PluginRuntime("cpu", program, ManualClock())
    total = program.alerts[0].value
    batch, idx, keys, tags, _ = make_batch(series(0, [1, 2]), F)
    assert rt.evaluate(batch, idx, keys, tags).by_row(total) == [None, 3.0]
    batch, idx, keys, tags, _ = make_batch(series(0, [4], start=2), F)
    evaluation = rt.evaluate(batch, idx, keys, tags)
    assert evaluation.by_row(total) == [6.0]
    assert [e.level for e in evaluation.result.events] == ["CRITICAL"]
    assert (rt.stats.batches, rt.stats.points_processed, rt.stats.alerts_fired) == (2, 3, 1)


def test_evaluate_without_working_rows_has_no_columns() -> None:
    rt = runtime_for(alert(agg("count", win("x", "3s")), ">=", 3))
    feed(rt, series(0, [1], start=5))
    batch, idx, keys, tags, _ = make_batch(series(0, [1, 1]), F)  # both late
    evaluation = rt.evaluate(batch, idx, keys, tags)
    assert evaluation.columns == [] and evaluation.rows.shape == (0,)
    assert evaluation.result.late == 2
    assert evaluation.by_row(0) == [None, None]
