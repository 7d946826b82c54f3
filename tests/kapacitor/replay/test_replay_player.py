"""replay(): the live path (router + PluginHost) over a recording in event-time order."""

from __future__ import annotations

import math
import random

import msgspec
import numpy as np
import pytest

from kapacitor.alerting.document import event_document
from kapacitor.clock import ManualClock
from kapacitor.host import PluginHost
from kapacitor.lineprotocol import parse_body
from kapacitor.match.router import route, routes_for
from kapacitor.model.batch import PointBatch, concat_batches
from kapacitor.plugins import PluginDefinition
from kapacitor.plugins.validate import validate_definition
from kapacitor.replay.player import (
    ReplayReport,
    compare_reports,
    decode_report,
    encode_report,
    replay,
    report_table,
)

T0 = 1_700_000_000_000_000_000
S = 1_000_000_000


def _lines(n_times: int = 300) -> list[bytes]:
    """Points of three hosts in two dcs plus noise measurements, in time order."""
    out = []
    for i in range(n_times):
        t = T0 + i * S
        for h, host in enumerate(("a", "b", "c")):
            dc = "east" if host != "c" else "west"
            v = 50 + 40 * math.sin(i / (5 + h)) + (i * 7 + h * 3) % 11
            out.append(f"cpu,host={host},dc={dc} value={v:.3f},n={i}i {t}".encode())
        out.append(f"mem,host=a value={i % 100}.5 {t}".encode())
        if i % 10 == 0:
            out.append(f"cpu,host=a,dc=east other=1i {t + 1}".encode())  # no `value`
    return out


def _parse(lines: list[bytes], db: str = "telegraf", rp: str = "autogen") -> PointBatch:
    [batch], errors = parse_body(b"\n".join(lines) + b"\n", db=db, rp=rp, now_ns=0)
    assert errors == []
    return batch


def _batches(lines: list[bytes], size: int, **kw: str) -> list[PointBatch]:
    return [_parse(lines[i : i + size], **kw) for i in range(0, len(lines), size)]


def _live(batches: list[PointBatch], d: PluginDefinition) -> list[dict[str, object]]:
    """What the matcher and interpreter services do with these batches, in this order."""
    clock = ManualClock()
    host = PluginHost(clock)
    host.sync([msgspec.structs.replace(d, enabled=True)])
    routes = routes_for([d])
    out: list[dict[str, object]] = []
    for b in batches:
        clock.set(int(b.time.max()))
        sub = route(b, routes).get(d.name)
        if sub is not None:
            out += [event_document(e) for e in host.process(d.name, sub)]
    return out


DEFINITIONS = [
    PluginDefinition(name="count_win", from_="cpu", script="alert(avg(window(value, 5)), >, 75)"),
    PluginDefinition(
        name="time_win",
        from_="cpu",
        where="dc = 'east'",
        script='alert(max(window(value, 10s)), >, 90, level="WARNING")',
    ),
    PluginDefinition(
        name="grouped",
        from_="cpu",
        db="telegraf",
        rp="autogen",
        group_by=["dc"],
        script="alert(avg(window(value, 20s)), <, 40)",
    ),
]


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d.name)
def test_replay_equals_live_even_for_shuffled_batches(definition: PluginDefinition) -> None:
    validate_definition(definition)
    lines = _lines()
    live_events = _live(_batches(lines, 37), definition)
    assert len(live_events) > 10
    assert {e["level"] for e in live_events} >= {"OK"}

    recorded = _batches(lines, 53)
    random.Random(7).shuffle(recorded)
    report = replay(recorded, definition, chunk_rows=500)
    assert report.errors == []
    assert report.alerts == live_events
    assert report.points_replayed == len(lines)
    # also in the default chunk size, and as one big out-of-order batch
    assert replay(recorded, definition).alerts == live_events
    assert replay([concat_batches(recorded)], definition).alerts == live_events


def test_out_of_order_batches_would_differ_live() -> None:
    """The shuffled recording really is out of order: fed live, late points are dropped."""
    d = DEFINITIONS[1]
    lines = _lines()
    recorded = _batches(lines, 53)
    random.Random(7).shuffle(recorded)
    assert _live(recorded, d) != _live(_batches(lines, 53), d)


def test_counts_and_levels() -> None:
    d = DEFINITIONS[0]
    lines = _lines(100)
    report = replay(_batches(lines, 40), d)
    cpu = [ln for ln in lines if ln.startswith(b"cpu")]
    with_value = [ln for ln in cpu if b"value=" in ln]
    assert report.points_replayed == len(lines)
    assert report.points_matched == len(cpu)
    assert report.points_processed == len(cpu)  # PluginHost counts every routed row
    assert report.points_skipped == len(cpu) - len(with_value)
    assert sum(report.levels.values()) == len(report.alerts)
    assert report.levels == {
        lv: sum(1 for a in report.alerts if a["level"] == lv) for lv in report.levels
    }
    assert report.first_time == T0 and report.last_time == T0 + 99 * S


def test_a_report_lists_the_first_alerts_and_counts_them_all() -> None:
    d = DEFINITIONS[0]
    batches = _batches(_lines(100), 40)
    whole = replay(batches, d)
    assert whole.alerts_total == len(whole.alerts) > 3
    some = replay(batches, d, max_alerts=3)
    assert some.alerts == whole.alerts[:3]
    assert (some.alerts_total, some.levels) == (whole.alerts_total, whole.levels)
    text = report_table(some)
    assert f"Alerts:     {whole.alerts_total} (" in text and "the first 3 listed" in text


def test_db_and_rp_matching() -> None:
    d = PluginDefinition(
        name="p", from_="cpu", db="telegraf", rp="autogen", script="alert(value, >, 5)"
    )
    other = _parse([f"cpu,host=a value=10 {T0}".encode()], db="other", rp="autogen")
    week = _parse([f"cpu,host=a value=10 {T0 + 1}".encode()], db="telegraf", rp="week")
    good = _parse([f"cpu,host=a value=1 {T0 + 2}".encode()], db="telegraf", rp="autogen")
    report = replay([other, week, good], d)
    assert report.points_replayed == 3
    assert report.points_matched == 1
    assert report.alerts == []


def test_equal_times_keep_recorded_order() -> None:
    d = PluginDefinition(name="p", from_="cpu", script="alert(value, >, 5)")
    first = _parse([f"cpu,host=a value=10 {T0}".encode()])
    second = _parse([f"cpu,host=a value=1 {T0}".encode()])
    assert [a["level"] for a in replay([first, second], d).alerts] == ["CRITICAL", "OK"]
    assert [a["level"] for a in replay([second, first], d).alerts] == ["CRITICAL"]


def test_mixed_field_types_across_batches() -> None:
    d = PluginDefinition(name="p", from_="cpu", script="alert(value, >, 5)")
    ints = _parse([f"cpu,host=a value=10i {T0 + 2}".encode()])
    floats = _parse(
        [f"cpu,host=a value=1.5 {T0 + 1}".encode(), f"cpu,host=a value=0.5 {T0 + 3}".encode()]
    )
    report = replay([ints, floats], d)
    assert [(a["level"], a["value"]) for a in report.alerts] == [("CRITICAL", 10.0), ("OK", 0.5)]


def test_clock_is_event_time() -> None:
    """`now()` is the replayed time: with the wall clock every old point would be late."""
    d = PluginDefinition(name="p", from_="cpu", script="alert(now() - time(), >, 1h)")
    lines = [f"cpu,host=a value=1 {T0 + i * S}".encode() for i in range(100)]
    assert replay(_batches(lines, 10), d).alerts == []


def test_progress_and_disabled_definition() -> None:
    d = PluginDefinition(name="p", from_="cpu", script="alert(value, >, 5)", enabled=False)
    lines = [f"cpu,host=a value={i % 10} {T0 + i}".encode() for i in range(25)]
    calls: list[tuple[int, int]] = []
    report = replay(
        _batches(lines, 7), d, chunk_rows=10, progress=lambda a, b: calls.append((a, b))
    )
    assert calls == [(10, 25), (20, 25), (25, 25)]
    assert report.alerts
    calls.clear()
    replay(
        _batches(lines, 7), d, chunk_rows=10, total=100, progress=lambda a, b: calls.append((a, b))
    )
    assert calls[-1] == (25, 100)


def test_unloadable_plugin_is_reported() -> None:
    d = PluginDefinition(name="p", from_="cpu", script="alert(nope(value), >, 5)")
    report = replay([_parse([f"cpu value=1 {T0}".encode()])], d)
    assert report.alerts == []
    assert len(report.errors) == 1 and "cannot load" in report.errors[0]


def test_empty_recording() -> None:
    report = replay([], DEFINITIONS[0])
    assert report.points_replayed == 0 and report.alerts == [] and report.errors == []
    assert "0 replayed" in report_table(report)


def _report() -> ReplayReport:
    lines = _lines(60)
    return replay(_batches(lines, 50), DEFINITIONS[0], recording="123456789")


def test_report_json_round_trip() -> None:
    report = _report()
    assert report.alerts
    data = encode_report(report)
    assert decode_report(data) == report
    assert decode_report(data).alerts[0]["tags"] == report.alerts[0]["tags"]


def test_report_table_lists_every_alert() -> None:
    report = _report()
    text = report_table(report)
    assert "Recording:  123456789" in text
    lines = text.splitlines()
    header = next(i for i, ln in enumerate(lines) if ln.startswith("TIME"))
    rows = lines[header + 1 :]
    assert len(rows) == len(report.alerts)
    level_col = lines[header].index("LEVEL")
    assert [r[level_col:].split()[0] for r in rows] == [a["level"] for a in report.alerts]


def test_compare_reports() -> None:
    expected = _report()
    same = decode_report(encode_report(expected))
    same.elapsed += 12.0
    same.recording = "999999999"
    assert compare_reports(expected, same) == []

    changed = decode_report(encode_report(expected))
    changed.alerts[0]["level"] = "WARNING"
    changed.alerts[1]["time"] = "2030-01-01T00:00:00Z"
    changed.alerts[1]["time_ns"] = 1
    changed.alerts[2]["value"] = -1.0
    diffs = compare_reports(expected, changed)
    assert len(diffs) == 3
    assert "alert 1" in diffs[0] and "level expected 'CRITICAL', got 'WARNING'" in diffs[0]
    assert "alert 2" in diffs[1] and "time expected" in diffs[1]
    assert "alert 3" in diffs[2] and "value expected" in diffs[2] and "got -1.0" in diffs[2]

    fewer = decode_report(encode_report(expected))
    dropped = fewer.alerts.pop()
    fewer.levels[str(dropped["level"])] -= 1
    diffs = compare_reports(expected, fewer)
    assert any(d.startswith("levels:") for d in diffs)
    assert any(f"alert {len(expected.alerts)} missing" in d for d in diffs)
    assert any(d.startswith("alerts: expected") for d in diffs)


def test_chunks_are_time_ordered_and_bounded() -> None:
    """Internal check of the ordering helper: stable by event time."""
    from kapacitor.replay.player import _time_ordered

    a = _parse([f"cpu v=1 {T0 + 5}".encode(), f"cpu v=2 {T0 + 1}".encode()])
    b = _parse([f"cpu v=3i {T0 + 1}".encode()])
    merged, fam, local, times = _time_ordered([a, b])
    assert times.tolist() == [T0 + 1, T0 + 1, T0 + 5]
    values = [
        merged[f].fields["v"].values[i].item()
        for f, i in zip(fam.tolist(), local.tolist(), strict=True)
    ]
    assert values == [2.0, 3, 1.0]
    assert np.all(np.diff(times) >= 0)


@pytest.mark.parametrize("seed", range(20))
def test_time_order_is_a_stable_sort_whether_recorded_in_order_or_not(seed: int) -> None:
    """The helper skips sorting when the recording is in time order: against a plain stable
    sort, on in-order and shuffled recordings of one and of two families (int and float v)."""
    from kapacitor.replay.player import _time_ordered

    rnd = random.Random(seed)
    stamps = sorted(rnd.randrange(5) for _ in range(12))
    if seed % 2:
        rnd.shuffle(stamps)
    lines = [
        f"cpu v={k}{'i' if seed % 4 >= 2 and k % 3 == 0 else ''} {T0 + t}".encode()
        for k, t in enumerate(stamps)
    ]
    batches = [_parse([line]) for line in lines]
    merged, fam, local, times = _time_ordered(batches)
    got = [
        int(merged[f].fields["v"].values[i].item())
        for f, i in zip(fam.tolist(), local.tolist(), strict=True)
    ]
    assert got == [k for _, k in sorted((t, k) for k, t in enumerate(stamps))]
    assert times.tolist() == [T0 + t for t in sorted(stamps)]
