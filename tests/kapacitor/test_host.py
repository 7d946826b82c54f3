"""PluginHost (kapacitor/host.py): state per partition, saved and restored on its own and only
into the definition it was taken under; only changed partitions are handed out for saving."""

from __future__ import annotations

import logging

import pytest

from kapacitor.clock import ManualClock
from kapacitor.host import PluginHost
from kapacitor.lineprotocol.decode import parse_body
from kapacitor.match.partition import Partitioner
from kapacitor.model import PointBatch
from kapacitor.plugins import PluginDefinition, state_fingerprint
from kapacitor.plugins.state import StoredState

SCRIPT = "alert(avg(window(value, 3)), >, 50)"
D1 = PluginDefinition(name="p", from_="cpu", script=SCRIPT, enabled=True, created=100, revision=1)


def points(*values: float, start: int = 0) -> PointBatch:
    body = "".join(f"cpu,host=a value={v} {start + i}\n" for i, v in enumerate(values))
    [batch], errors = parse_body(body.encode(), db="telegraf", rp="autogen", now_ns=0)
    assert not errors
    return batch


def test_changed_partitions_are_handed_out_once() -> None:
    host = PluginHost(ManualClock())
    host.sync([D1])
    host.open_partition(0, {})
    assert host.take_changed() == set()
    host.process("p", points(60, 60))
    assert host.take_changed() == {0}
    [(name, state)] = host.partition_state(0).items()
    assert (name, state.fingerprint) == ("p", state_fingerprint(D1)) and state.snapshot
    assert host.take_changed() == set()


def test_what_could_not_be_saved_or_published_is_handed_out_again() -> None:
    host = PluginHost(ManualClock())
    host.sync([D1])
    host.open_partition(0, {})
    host.process("p", points(60, 60))
    assert host.take_changed() == {0}
    host.mark_changed([0, 7])  # 7 is not open: never handed out
    assert host.take_changed() == {0}
    [(p, counted)] = host.take_dirty()
    host.mark_dirty([(counted.plugin, p), ("other", 0)])  # counters of no plugin: ignored
    assert host.take_dirty() == [(p, counted)]
    assert host.take_dirty() == []


def saved_state(host: PluginHost, p: int = 0) -> dict[str, StoredState]:
    return host.partition_state(p)


def restarted(saved: dict[str, StoredState], d: PluginDefinition = D1) -> PluginHost:
    host = PluginHost(ManualClock())
    host.sync([d])
    host.open_partition(0, saved)
    return host


def test_saved_state_continues_the_window() -> None:
    host = PluginHost(ManualClock())
    host.sync([D1])
    host.process("p", points(60, 60))
    again = restarted(saved_state(host))
    assert [e.level for e in again.process("p", points(60, start=2))] == ["CRITICAL"]


def test_a_plugin_loaded_after_its_partition_opened_restores_its_state() -> None:
    host = PluginHost(ManualClock())
    host.sync([D1])
    host.process("p", points(60, 60))
    again = PluginHost(ManualClock())
    assert again.open_partition(0, saved_state(host)) == 0  # the plugin is not loaded yet
    again.sync([D1])
    assert [e.level for e in again.process("p", points(60, start=2))] == ["CRITICAL"]


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
    again = restarted(saved_state(host), other)
    assert again.process("p", points(60, start=2)) == []  # a fresh window of one point


def test_unreadable_state_is_logged_and_the_plugin_starts_afresh(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, "kapacitor.interpreter"):
        host = restarted({"p": StoredState(state_fingerprint(D1), b"\x00garbage")})
    assert "saved state not restored" in caplog.text
    assert host.process("p", points(60, 60, 60)) != []


def many_hosts(n: int, value: float, t: int) -> PointBatch:
    body = "".join(f"cpu,host=h{i} value={value} {t}\n" for i in range(n))
    [batch], errors = parse_body(body.encode(), db="telegraf", rp="autogen", now_ns=0)
    assert not errors
    return batch


def test_partitions_run_apart_and_a_closed_one_resumes_from_its_saved_state() -> None:
    """Each partition's state is its own: saved, closed and opened again (as on another
    interpreter) it goes on as if it had never stopped, the others untouched."""
    partitioner = Partitioner("p", None, 4)
    host = PluginHost(ManualClock(), partitions=4)
    host.sync([D1])
    for p in range(4):
        host.open_partition(p, {})
    for t in (0, 1):
        for p, part in partitioner.split(many_hosts(40, 60, t)).items():
            host.process("p", part, p)
    assert host.plugin_stats("p").instances == 40
    saved = host.partition_state(2)
    host.close_partition(2)
    held = 40 - len(partitioner.split(many_hosts(40, 60, 0))[2].series)
    assert host.plugin_stats("p").instances == held
    other = PluginHost(ManualClock(), partitions=4)
    other.sync([D1])
    other.open_partition(2, saved)
    third = partitioner.split(many_hosts(40, 60, 2))
    fired = other.process("p", third[2], 2) + host.process("p", third[0], 0)
    assert len(fired) == len(third[2].series) + len(third[0].series)  # windows of 3 are full


def test_state_saved_for_a_whole_plugin_is_split_by_partition() -> None:
    """What an interpreter saved before partitions (every instance of a plugin in one
    snapshot): each partition taken over keeps only its own instances."""
    old = PluginHost(ManualClock())
    old.sync([D1])
    for t in (0, 1):
        old.process("p", many_hosts(20, 60, t))
    whole = old.partition_state(0)
    partitioner = Partitioner("p", None, 4)
    split = partitioner.split(many_hosts(20, 60, 2))
    host = PluginHost(ManualClock(), partitions=4)
    host.sync([D1])
    counts = [host.open_partition(p, whole, whole=True) for p in range(4)]
    assert counts == [len(split[p].series) if p in split else 0 for p in range(4)]
    assert sum(counts) == 20
    fired = [e for p, part in split.items() for e in host.process("p", part, p)]
    assert len(fired) == 20


def test_max_instances_holds_across_partitions() -> None:
    partitioner = Partitioner("p", None, 4)
    host = PluginHost(ManualClock(), default_max_instances=5, partitions=4)
    host.sync([D1])
    for p, part in partitioner.split(many_hosts(12, 60, 0)).items():
        host.process("p", part, p)
    stats = host.plugin_stats("p")
    assert (stats.instances, stats.points_refused) == (5, 7)


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
    assert (host.plugin_stats("p").instances, host.plugin_stats("q").instances) == (1, 1)
    clock.set(3 * 10**9)
    host.tick(clock.now_ns())
    assert (host.plugin_stats("p").instances, host.plugin_stats("q").instances) == (1, 0)
    assert host.plugin_stats("q").instances_expired == 1
    clock.set(11 * 10**9)
    host.tick(clock.now_ns())
    assert (host.plugin_stats("p").instances, host.plugin_stats("p").instances_expired) == (0, 1)
    assert 0 < host.plugin_stats("p").state_bytes < 20_000  # the window pool's minimum, mostly


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
    [batch], _ = parse_body(body.encode(), db="telegraf", rp="autogen", now_ns=0)
    host.process("p", batch)
    stats = host.plugin_stats("p")
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
    assert joined.plugin_stats("p").points_processed == len(values)


def test_the_events_of_each_joined_batch_are_told_apart() -> None:
    """What each batch causes, whether it is processed alone or joined with others: the
    interpreter names the events of each matched message by it."""
    values = [10, 60, 70, 80, 20, 10, 5, 90, 95, 99, 30, 0]
    batches = [points(*values[i : i + 3], start=i) for i in range(0, len(values), 3)]
    one = PluginHost(ManualClock())
    one.sync([D1])
    alone = [[(e.time, e.level) for e in one.process("p", b)] for b in batches]
    joined = PluginHost(ManualClock())
    joined.sync([D1])
    per_source = joined.process_sources("p", batches, max_rows=7)
    assert [[(e.time, e.level) for e in found] for found in per_source] == alone
    assert sum(map(len, alone)) == 4


def test_a_message_that_is_no_template_is_counted_logged_and_the_plugin_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    script = 'alert(value, >, 50, message="{host} at " + string(value) + " {")'
    d = PluginDefinition(name="t", from_="cpu", script=script, enabled=True, created=1)
    host = PluginHost(ManualClock())
    host.sync([d])
    host.open_partition(0, {})
    with caplog.at_level(logging.WARNING, "kapacitor.interpreter"):
        first = host.process("t", points(60, 40, 70))
    assert [e.message for e in first] == ["{host} at 60 {", "{host} at 40 {", "{host} at 70 {"]
    [(_, stats)] = host.take_dirty()
    assert stats.template_errors == 3 and stats.errors == 0
    assert "is not a template" in stats.last_error
    assert sum("is not a template" in r.getMessage() for r in caplog.records) == 1
