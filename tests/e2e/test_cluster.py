"""Scale-out as an operator runs it: interpreter-only kapacitords added to, or killed in, a
deployment on one NATS server. The alert events do not depend on how many interpreters run or
on one of them dying, and no acknowledged point is lost (docs/cluster.md)."""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from kapacitor.testing.cluster import Cluster
from kapacitor.testing.daemon import Daemon, wait_until
from kapacitor.testing.nats import nats_cluster, nats_server
from kapacitor.testing.receivers import WebhookReceiver
from kapacitor.testing.waits import NotYet

T0 = 1_700_000_000
HOSTS = 24
STEPS = 40
PER_POST = 6  # time steps per POST

# name -> (script, extra define arguments); every plugin reads measurement m.
PLUGINS: dict[str, tuple[str, tuple[str, ...]]] = {
    "counts": ("alert(avg(window(value, 5)), >, 70)\n", ()),
    "times": ("alert(max(window(value, 10s)), >, 90, warn=80)\n", ()),
    "regions": ("alert(sum(window(value, 4)), >, 250)\n", ("--group-by", "region")),
    "streaks": ("alert(state_count(value > 60), >=, 3)\n", ()),
    "silence": ("deadman(0, 2s)\n", ()),
}
TIMED = "silence"  # its events happen on the wall clock: compared without their times


def bodies(seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out = []
    for start in range(0, STEPS, PER_POST):
        lines = [
            f"m,host=h{h},region=r{h % 4} value={rng.randint(0, 100)} {T0 + t}\n"
            for t in range(start, min(STEPS, start + PER_POST))
            for h in range(HOSTS)
        ]
        out.append("".join(lines))
    return out


def define(d: Daemon, folder: Path, plugins: dict[str, tuple[str, tuple[str, ...]]]) -> None:
    for name, (script, extra) in plugins.items():
        f = folder / f"{name}.kap"
        f.write_text(script)
        r = d.cli("define", "--name", name, "--from", "m", "--script", str(f), *extra)
        assert r.code == 0, r.stderr
        assert d.cli("enable", name).code == 0, name


def processed(d: Daemon, name: str) -> int:
    return int(d.get(f"/kapacitor/v1/plugins/{name}").json()["points_processed"])


def wait_processed(d: Daemon, names: list[str], points: int) -> None:
    wait_until(
        lambda: all(processed(d, n) >= points for n in names) or None,
        60,
        f"{points} points processed by {names}",
    )


def normalized(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    out = []
    for e in events:
        if e["plugin"] == TIMED:
            out.append((e["plugin"], e["id"], e["level"]))
        else:
            out.append(
                (
                    e["plugin"],
                    e["id"],
                    e["level"],
                    e["previousLevel"],
                    e["time_ns"],
                    e["duration"],
                    e["value"],
                )
            )
    return sorted(out)


@contextmanager
def cluster(root: Path, webhook: str = "", *, quick: bool = True) -> Iterator[Cluster]:
    """A deployment on a NATS server of its own. `quick`: leases of 2 s, so that a killed
    interpreter's partitions move soon; else the default 5 s, which a loaded test machine's
    pauses do not outlast (a lease lost to a pause moves its partition: nothing is lost or
    repeated, but a deadman's checks start afresh on the new owner, at other times)."""
    env = {"KAPACITOR_ALERT_WEBHOOK_URL": webhook} if webhook else {}
    if not quick:
        env |= {"KAPACITOR_CLUSTER_LEASE_TTL": "5s", "KAPACITOR_CLUSTER_HEARTBEAT": "1s"}
    with nats_server(root / "nats") as url:
        c = Cluster(root, url, env=env)
        try:
            yield c
        finally:
            c.stop()


def run_stream(
    c: Cluster,
    interpreters: int,
    folder: Path,
    midway: Callable[[Cluster], None] | None = None,
) -> list[tuple[Any, ...]]:
    """Write the stream to the five plugins on `interpreters` interpreters (calling `midway`
    when half is written); the alert events, normalized."""
    c.start(interpreters)
    c.wait_balanced()
    define(c.front, folder, PLUGINS)
    c.front.wait_plugins_live()
    posts = bodies()
    for i, body in enumerate(posts):
        if i == len(posts) // 2 and midway is not None:
            midway(c)
        assert c.front.write(body, precision="s").status_code == 204
    counted = [n for n in PLUGINS if n != TIMED]
    wait_processed(c.front, counted, HOSTS * STEPS)
    # Every silent host's deadman fires once it was watched for 2 s and then got nothing.
    wait_until(
        lambda: sum(e["plugin"] == TIMED for e in c.alert_events()) >= HOSTS or None,
        30,
        "a deadman alert for every host",
    )
    return normalized(c.alert_events())


@pytest.fixture(scope="module")
def single_run(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Any, ...]]:
    """The events of the stream on one interpreter: what every other layout must give."""
    root = tmp_path_factory.mktemp("one")
    with cluster(root, quick=False) as c:
        events = run_stream(c, 1, root)
    assert len(events) > 100 and {e[0] for e in events} == set(PLUGINS)
    return events


@pytest.mark.parametrize("interpreters", [2, 3])
def test_the_alerts_of_several_interpreters_are_those_of_one(
    single_run: list[tuple[Any, ...]], tmp_path: Path, interpreters: int
) -> None:
    with cluster(tmp_path, quick=False) as c:
        got = run_stream(c, interpreters, tmp_path)
        owners = set(c.lease_owners().values())
        loggers = [d for d in c.interpreters if d.alerts_log()]
        # One view of the cluster: counters summed over the interpreters, every instance.
        shown = c.front.cli("show", "counts", "--json").json()
        assert shown["points_processed"] == HOSTS * STEPS
        view = c.front.cli("cluster", "--json").json()
        counted = f'kapacitor_plugin_points_processed_total{{plugin="counts"}} {HOSTS * STEPS}.0'

        def scraped() -> str | NotYet:
            text = c.front.get("/metrics").text
            if counted in text:
                return text
            return NotYet([line for line in text.splitlines() if 'plugin="counts"' in line])

        # Counters are published every stats interval: the scrape sees them as of then.
        wait_until(scraped, 10, "the counters in /metrics")
    assert got == single_run
    rows = [m for m in view["members"] if m["service"] == "interpreter"]
    assert len(rows) == interpreters and view["unowned_partitions"] == []
    assert sorted(p for m in rows for p in m["partitions"]) == list(range(32))
    assert {m["state"] for m in view["members"]} <= {"ok", "late"}  # late: a loaded machine
    assert {m["service"] for m in view["members"]} == {
        "api", "ingest", "matcher", "replay", "interpreter"
    }  # fmt: skip
    assert sum(m["notifier"] for m in rows) == 1
    assert len(owners) == interpreters  # the work was shared
    assert len(loggers) == 1  # one notifier delivered every event


def kill_one(c: Cluster) -> None:
    """kill -9 an interpreter that is not the notifier, once it has done some of the work."""
    wait_processed(c.front, ["counts"], HOSTS * STEPS // 4)
    notifier = c.notifier()
    c.kill9(next(d for d in c.interpreters if d is not notifier))


def kill_notifier(c: Cluster) -> None:
    wait_processed(c.front, ["counts"], HOSTS * STEPS // 4)
    c.kill9(c.notifier())


def test_an_interpreter_killed_mid_stream_changes_no_alert(
    single_run: list[tuple[Any, ...]], tmp_path: Path
) -> None:
    """The alert log and a webhook receiver get the events of one interpreter, each once,
    although the killed one's partitions are recomputed from their last saved state."""
    with WebhookReceiver() as hook, cluster(tmp_path, hook.url) as c:
        got = run_stream(c, 2, tmp_path, midway=kill_one)
        assert c.wait_balanced() and len(c.lease_owners()) == 32  # the survivor holds all
        posted = wait_until(
            lambda: len(hook.bodies) >= len(single_run) and list(hook.bodies),
            30,
            "every event at the webhook",
        )
        time.sleep(1)  # nothing more follows
        assert len(hook.bodies) == len(posted)
    assert got == single_run
    assert normalized(posted) == single_run
    assert len(set(hook.event_ids)) == len(hook.event_ids) and all(hook.event_ids)


def test_the_notifier_killed_mid_stream_loses_no_alert(
    single_run: list[tuple[Any, ...]], tmp_path: Path
) -> None:
    """Its partitions and the notifier move to the survivor. The events of the ALERTS message
    it was delivering when it died may reach the handlers again (their delivery is not known
    to have ended); webhooks tell a copy by its X-Kapacitor-Event-Id."""
    with WebhookReceiver() as hook, cluster(tmp_path, hook.url) as c:
        got = run_stream(c, 2, tmp_path, midway=kill_notifier)
        wait_until(lambda: len(set(hook.event_ids)) >= len(single_run), 30, "every event")
        time.sleep(1)
        by_id = dict(zip(hook.event_ids, hook.bodies, strict=True))
    assert sorted(set(got)) == sorted(set(single_run))
    assert normalized(list(by_id.values())) == single_run
    # At most one message's events again: those of one plugin from one matched batch.
    assert len(hook.event_ids) - len(by_id) <= HOSTS


def test_an_interpreter_added_mid_stream_changes_no_alert(
    single_run: list[tuple[Any, ...]], tmp_path: Path
) -> None:
    def add(c: Cluster) -> None:
        c.add_interpreter()
        c.wait_balanced()

    with cluster(tmp_path, quick=False) as c:
        got = run_stream(c, 1, tmp_path, midway=add)
    assert got == single_run  # a clean hand-over: each event once


def test_no_acknowledged_point_is_lost_when_the_only_interpreter_is_killed(
    tmp_path: Path,
) -> None:
    """A probe counts the points each instance holds (a count window larger than the stream):
    every host reaches its full count although the interpreter was killed -9 after it had
    processed (and, before state followed acks, acknowledged) part of the stream."""
    hosts, steps, per_post = 20, 200, 10
    probe = {"probe": (f"alert(count(window(value, {steps})), >=, {steps})\n", ())}
    with cluster(tmp_path) as c:
        c.start(1)
        c.wait_balanced()
        define(c.front, tmp_path, probe)
        c.front.wait_plugins_live()
        interpreter = c.interpreters[0]
        for start in range(0, steps, per_post):
            if start == steps // 2:
                wait_processed(c.front, ["probe"], hosts * start)
                os.kill(c.interpreter_pid(interpreter), signal.SIGKILL)  # restarted by kapacitord
            body = "".join(
                f"m,host=h{h} value=1 {T0 + t}\n"
                for t in range(start, start + per_post)
                for h in range(hosts)
            )
            assert c.front.write(body, precision="s").status_code == 204
        full = wait_until(
            lambda: len(interpreter.alerts_log()) >= hosts and interpreter.alerts_log(),
            60,
            "every host's probe to count all its points",
        )
        assert "interpreter exited with code -9" in interpreter.log()
    assert sorted(e["instance"] for e in full) == sorted(f"m,host=h{h}" for h in range(hosts))
    assert {(e["level"], e["value"]) for e in full} == {("CRITICAL", float(steps))}


def test_recordings_and_replays_with_several_replay_services(tmp_path: Path) -> None:
    """Two hosts, each with its own API and replay service: a recording started through one is
    listed and stopped through the other, and a replay runs the same on either, isolated from
    the live plugin."""
    with nats_server(tmp_path / "nats") as url:
        c = Cluster(tmp_path, url)
        other = Daemon(
            tmp_path / "other",
            services="api,ingest,replay",
            env={"KAPACITOR_NATS_URL": url, **c.env},
        )
        try:
            c.start(1)
            other.start()
            define(c.front, tmp_path, {"counts": PLUGINS["counts"]})
            c.front.wait_plugins_live()
            ids = []
            for i in range(4):  # the queue group hands starts to either replay service
                front, back = (c.front, other) if i % 2 else (other, c.front)
                started = front.cli("start-recording", "--from", "m")
                assert started.code == 0, started.stderr
                ids.append(started.stdout.strip().split("=", 1)[1])
                assert back.write(bodies()[i], precision="s").status_code == 204
                wait_until(
                    lambda rid=ids[-1], d=back: any(
                        r["id"] == rid and r["points"] > 0
                        for r in d.cli("recordings", "--json").json()["recordings"]
                    ),
                    30,
                    "the recording to hold points",
                )
                assert back.cli("stop-recording", ids[-1]).code == 0
            listed = {r["id"]: r for r in c.front.cli("recordings", "--json").json()["recordings"]}
            assert {listed[r]["status"] for r in ids} == {"finished"}
            for rid in ids:
                reports = [
                    d.cli("replay", rid, "counts", "--json").json() for d in (c.front, other)
                ]
                assert reports[0]["alerts"] == reports[1]["alerts"]
                assert reports[0]["points_processed"] == HOSTS * PER_POST
            live = c.front.get("/kapacitor/v1/plugins/counts").json()["points_processed"]
            assert live == 4 * HOSTS * PER_POST  # replays did not feed the live plugin
        finally:
            other.stop()
            c.stop()


def test_a_nats_server_killed_mid_stream_loses_no_point_and_repeats_no_alert(
    tmp_path: Path,
) -> None:
    """Three nats-servers (JetStream, replicas 3) under two interpreters: one server is killed
    -9 mid-stream. Every point acknowledged (a 204; a write refused meanwhile is sent again)
    reaches its probe, and each probe's alert reaches the webhook once."""
    hosts, steps, per_post = 20, 100, 5
    probe = {"probe": (f"alert(count(window(value, {steps})), >=, {steps})\n", ())}
    with (
        WebhookReceiver() as hook,
        nats_cluster(tmp_path / "nats") as (url, servers),
    ):
        env = {"KAPACITOR_CLUSTER_REPLICAS": "3", "KAPACITOR_ALERT_WEBHOOK_URL": hook.url}
        c = Cluster(tmp_path, url, env=env)
        try:
            c.start(2)
            c.wait_balanced()
            define(c.front, tmp_path, probe)
            c.front.wait_plugins_live()
            refused = 0
            for start in range(0, steps, per_post):
                if start == steps // 2:
                    wait_processed(c.front, ["probe"], hosts * start)
                    servers[1].proc.kill()  # type: ignore[union-attr]
                body = "".join(
                    f"m,host=h{h} value=1 {T0 + t}\n"
                    for t in range(start, start + per_post)
                    for h in range(hosts)
                )
                while c.front.write(body, precision="s").status_code != 204:
                    refused += 1
                    time.sleep(0.5)
            wait_until(lambda: len(hook.bodies) >= hosts, 60, "every host's probe alert")
            time.sleep(2)  # nothing more follows
        finally:
            c.stop()
    assert sorted(e["instance"] for e in hook.bodies) == sorted(
        f"m,host=h{h}" for h in range(hosts)
    )
    assert {(e["level"], e["value"]) for e in hook.bodies} == {("CRITICAL", float(steps))}
    assert len(set(hook.event_ids)) == hosts
