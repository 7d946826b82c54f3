"""PluginHost (kapacitor/host.py): saved state is restored only into the definition it was
taken under, and only changed state is handed out for saving."""

from __future__ import annotations

import logging

import pytest

from kapacitor.clock import ManualClock
from kapacitor.host import PluginHost
from kapacitor.lineprotocol.decode import parse_body
from kapacitor.model import PointBatch
from kapacitor.plugins import PluginDefinition, state_fingerprint

SCRIPT = "alert(avg(window(value, 3)), >, 50)"
D1 = PluginDefinition(name="p", from_="cpu", script=SCRIPT, enabled=True, created=100, revision=1)


def points(*values: float, start: int = 0) -> PointBatch:
    body = "".join(f"cpu,host=a value={v} {start + i}\n" for i, v in enumerate(values))
    batch, errors = parse_body(body.encode(), db="telegraf", rp="autogen", now_ns=0)
    assert not errors
    return batch


def test_state_changes_hand_out_changed_plugins_once() -> None:
    host = PluginHost(ManualClock())
    host.sync([D1])
    assert host.state_changes() == []
    host.process("p", points(60, 60))
    [(name, fingerprint, snapshot)] = host.state_changes()
    assert (name, fingerprint) == ("p", state_fingerprint(D1)) and snapshot
    assert host.state_changes() == []


def restarted(saved: tuple[str, bytes], d: PluginDefinition = D1) -> PluginHost:
    host = PluginHost(ManualClock())
    host.saved["p"] = saved
    host.sync([d])
    return host


def test_saved_state_continues_the_window() -> None:
    host = PluginHost(ManualClock())
    host.sync([D1])
    host.process("p", points(60, 60))
    [(_, fingerprint, snapshot)] = host.state_changes()
    again = restarted((fingerprint, snapshot))
    assert [e.level for e in again.process("p", points(60, start=2))] == ["CRITICAL"]
    assert "p" not in again.saved


@pytest.mark.parametrize(
    "other",
    [
        PluginDefinition(
            name="p", from_="cpu", script=SCRIPT, enabled=True, created=100, revision=2
        ),
        PluginDefinition(
            name="p", from_="cpu", script=SCRIPT, enabled=True, created=200, revision=1
        ),
    ],
    ids=["re-defined", "deleted-and-defined-again"],
)
def test_state_of_another_definition_is_not_restored(other: PluginDefinition) -> None:
    host = PluginHost(ManualClock())
    host.sync([D1])
    host.process("p", points(60, 60))
    [(_, fingerprint, snapshot)] = host.state_changes()
    again = restarted((fingerprint, snapshot), other)
    assert again.process("p", points(60, start=2)) == []  # a fresh window of one point


def test_unreadable_state_is_logged_and_the_plugin_starts_afresh(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, "kapacitor.interpreter"):
        host = restarted((state_fingerprint(D1), b"\x00garbage"))
    assert "saved state not restored" in caplog.text
    assert host.process("p", points(60, 60, 60)) != []


def test_sync_reports_the_plugins_whose_state_ended() -> None:
    host = PluginHost(ManualClock())
    assert host.sync([D1]) == []
    redefined = PluginDefinition(
        name="p", from_="cpu", script=SCRIPT, enabled=True, created=100, revision=2
    )
    assert host.sync([redefined]) == ["p"]
    assert host.sync([redefined]) == []
    disabled = PluginDefinition(
        name="p", from_="cpu", script=SCRIPT, enabled=False, created=100, revision=2
    )
    assert host.sync([disabled]) == ["p"]


def test_tick_expires_silent_instances_by_plugin_or_default() -> None:
    clock = ManualClock(0)
    host = PluginHost(clock, default_expire_ns=10 * 10**9)
    own = PluginDefinition(
        name="q", from_="cpu", script=SCRIPT, enabled=True, created=1, revision=1, expire="2s"
    )
    host.sync([D1, own])
    for name in ("p", "q"):
        host.process(name, points(60, 60))
    assert (host.stats["p"].instances, host.stats["q"].instances) == (1, 1)
    clock.set(3 * 10**9)
    host.tick(clock.now_ns())
    assert (host.stats["p"].instances, host.stats["q"].instances) == (1, 0)
    assert host.stats["q"].instances_expired == 1
    clock.set(11 * 10**9)
    host.tick(clock.now_ns())
    assert (host.stats["p"].instances, host.stats["p"].instances_expired) == (0, 1)
    assert 0 < host.stats["p"].state_bytes < 20_000  # the window pool's minimum, mostly


@pytest.mark.parametrize("bad", ["banana", "0s", "-5m"])
def test_expire_must_be_a_positive_duration(bad: str) -> None:
    from kapacitor.errors import PluginError
    from kapacitor.plugins.validate import validate_definition

    with pytest.raises(PluginError, match="--expire must be a duration > 0"):
        validate_definition(PluginDefinition(name="p", from_="cpu", script=SCRIPT, expire=bad))


def test_refused_points_are_counted_and_named() -> None:
    host = PluginHost(ManualClock(), default_max_instances=1)
    host.sync([D1])
    body = "cpu,host=a value=60 0\ncpu,host=b value=60 1\ncpu,host=a value=60 2\n"
    batch, _ = parse_body(body.encode(), db="telegraf", rp="autogen", now_ns=0)
    host.process("p", batch)
    stats = host.stats["p"]
    assert (stats.instances, stats.points_refused) == (1, 1)
    assert stats.last_error == "instance limit 1 reached: refused 1 point(s) of new instances"


def test_joined_batches_give_the_events_of_one_at_a_time() -> None:
    values = [10, 60, 70, 80, 20, 10, 5, 90, 95, 99, 30, 0]
    batches = [points(*values[i : i + 3], start=i) for i in range(0, len(values), 3)]
    one = PluginHost(ManualClock())
    one.sync([D1])
    expected = [e for b in batches for e in one.process("p", b)]
    joined = PluginHost(ManualClock())
    joined.sync([D1])
    got = joined.process_joined("p", batches, max_rows=7)  # runs of 2, 1 and 1 batches
    assert [(e.time, e.level) for e in got] == [(e.time, e.level) for e in expected]
    assert [e.level for e in got] == ["CRITICAL", "OK", "CRITICAL", "OK"]
    assert joined.stats["p"].points_processed == len(values)
