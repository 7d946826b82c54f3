"""The founding workflow, end to end, through a real kapacitord driven by the CLI and HTTP."""

from __future__ import annotations

from pathlib import Path

from kapacitor.testing.daemon import Daemon, wait_until
from kapacitor.testing.receivers import WebhookReceiver

T0 = 1_700_000_000_000_000_000
S = 1_000_000_000
SCRIPT = "alert(avg(window(value, 10)), <, 30)\n"


def cpu_lines(host: str, dc: str, values: list[float], start: int = 0) -> str:
    return "".join(
        f"cpu_idle,host={host},dc={dc} value={v} {T0 + (start + i) * S}\n"
        for i, v in enumerate(values)
    )


def expected_transitions(
    values: list[float], n: int = 10, threshold: float = 30
) -> list[tuple[int, str]]:
    """(index, level) of every alert a count window of n with avg < threshold must raise."""
    out, firing = [], False
    for i in range(n - 1, len(values)):
        avg = sum(values[i - n + 1 : i + 1]) / n
        if avg < threshold and not firing:
            out.append((i, "CRITICAL"))
            firing = True
        elif avg >= threshold and firing:
            out.append((i, "OK"))
            firing = False
    return out


VALUES = [50.0] * 10 + [10.0] * 15 + [80.0] * 10


def define(d: Daemon, tmp_path: Path, script: str = SCRIPT, *extra: str) -> None:
    f = tmp_path / "cpu.kap"
    f.write_text(script)
    r = d.cli(
        "define",
        "--name",
        "my_alert_script",
        "--from",
        "cpu_idle",
        "--where",
        "host = 'a' and dc = 'east'",
        "--script",
        str(f),
        *extra,
    )
    assert r.code == 0, r.stderr


def test_defined_plugin_alerts_on_live_data(daemon: Daemon, tmp_path: Path) -> None:
    with WebhookReceiver() as hook:
        daemon.env["KAPACITOR_ALERT_WEBHOOK_URL"] = hook.url
        daemon.start()
        define(daemon, tmp_path)
        assert daemon.cli("enable", "my_alert_script").code == 0
        daemon.wait_plugins_live()
        body = (
            cpu_lines("a", "east", VALUES)
            + cpu_lines("b", "east", [0.0] * 20)
            + cpu_lines("a", "west", [0.0] * 20)
        )
        r = daemon.write(body)
        assert r.status_code == 204, r.text

        want = expected_transitions(VALUES)
        assert [lvl for _, lvl in want] == ["CRITICAL", "OK"]
        alerts = wait_until(
            lambda: len(daemon.alerts_log()) >= 2 and daemon.alerts_log(),
            what="two alerts in the alert log",
        )
        assert [(a["time_ns"], a["level"]) for a in alerts] == [
            (T0 + i * S, lvl) for i, lvl in want
        ]
        assert alerts[0]["plugin"] == "my_alert_script"
        assert alerts[0]["tags"] == {"dc": "east", "host": "a"}
        first_avg = sum(VALUES[want[0][0] - 9 : want[0][0] + 1]) / 10
        assert abs(alerts[0]["value"] - first_avg) < 1e-9
        wait_until(lambda: len(hook.bodies) >= 2, what="two webhook POSTs")
        assert [b["level"] for b in hook.bodies] == ["CRITICAL", "OK"]

        def counters() -> dict[str, int] | None:
            doc = daemon.cli("show", "my_alert_script", "--json").json()
            return doc if doc["points_processed"] == len(VALUES) else None

        doc = wait_until(counters, what="points_processed to reach the matched points")
        assert doc["alerts_fired"] == 1
        assert doc["errors"] == 0
        assert doc["enabled"] is True

        past = daemon.get("/kapacitor/v1/alerts/history", plugin="my_alert_script").json()
        assert [a["level"] for a in past["events"]] == ["OK", "CRITICAL"]  # newest first
        human = daemon.cli("show", "my_alert_script")
        assert "Alerts fired:     1" in human.stdout


def processed(d: Daemon, name: str) -> int:
    return int(d.cli("show", name, "--json").json()["points_processed"])


def test_redefine_changes_behaviour_and_disable_stops_alerts(
    daemon: Daemon, tmp_path: Path
) -> None:
    daemon.start()
    define(daemon, tmp_path)
    assert daemon.cli("enable", "my_alert_script").code == 0
    daemon.add_witness()
    daemon.wait_plugins_live()
    assert daemon.write(cpu_lines("a", "east", [50.0] * 12)).status_code == 204
    wait_until(
        lambda: daemon.cli("show", "my_alert_script", "--json").json()["points_processed"] == 12,
        what="first points processed",
    )
    assert daemon.alerts_log() == []
    # Same data, new threshold: the re-defined plugin fires without a restart.
    mark = daemon.log_mark()
    define(daemon, tmp_path, "alert(avg(window(value, 10)), <, 60)\n")
    assert daemon.cli("show", "my_alert_script", "--json").json()["enabled"] is True
    daemon.wait_plugins_live(since=mark)  # the interpreter runs the new revision
    assert daemon.write(cpu_lines("a", "east", [50.0] * 12, start=100)).status_code == 204
    alerts = wait_until(daemon.alerts_log, what="an alert from the re-defined plugin")
    assert [a["level"] for a in alerts] == ["CRITICAL"]

    mark = daemon.log_mark()
    assert daemon.cli("disable", "my_alert_script").code == 0
    assert daemon.cli("show", "my_alert_script", "--json").json()["enabled"] is False
    daemon.wait_plugins_live(since=mark)  # the matcher routes to the witness alone
    assert daemon.write(cpu_lines("a", "east", [100.0] * 12, start=200)).status_code == 204
    daemon.wait_handled()  # the points above went through: had they reached the plugin, it fired
    assert [a["level"] for a in daemon.alerts_log()] == ["CRITICAL"]
    assert processed(daemon, "my_alert_script") == 24


def test_bad_line_gets_400_with_line_number_and_good_lines_count(
    daemon: Daemon, tmp_path: Path
) -> None:
    daemon.start()
    define(daemon, tmp_path)
    assert daemon.cli("enable", "my_alert_script").code == 0
    daemon.wait_plugins_live()
    good = cpu_lines("a", "east", [50.0] * 5).splitlines()
    body = "\n".join([*good[:2], "cpu_idle,host=a,dc=east value=oops 1", *good[2:]]) + "\n"
    r = daemon.write(body)
    assert r.status_code == 400
    doc = r.json()
    assert "line 3" in doc["error"]
    assert doc["accepted"] == 5
    assert [e["line"] for e in doc["errors"]] == [3]
    wait_until(
        lambda: daemon.cli("show", "my_alert_script", "--json").json()["points_processed"] == 5,
        what="the five good lines to be processed",
    )


def test_restart_keeps_plugins_state_and_unprocessed_data(tmp_path: Path) -> None:
    data = tmp_path / "kapacitor"
    d = Daemon(data)
    try:
        d.start()
        define(d, tmp_path)
        assert d.cli("enable", "my_alert_script").code == 0
        assert d.stop() == 0
        # Only the front door: points are acked (durable) but nothing processes them yet.
        d.services = "api,ingest"
        d.start()
        assert d.write(cpu_lines("a", "east", VALUES)).status_code == 204
        assert d.stop() == 0
        assert d.alerts_log() == []
        d.services = None
        d.start()
        listed = d.cli("list", "--json").json()["plugins"]
        assert [(p["name"], p["enabled"]) for p in listed] == [("my_alert_script", True)]
        alerts = wait_until(
            lambda: len(d.alerts_log()) >= 2 and d.alerts_log(),
            what="alerts from points written before the restart",
        )
        assert [a["level"] for a in alerts] == ["CRITICAL", "OK"]
    finally:
        d.stop()


def test_window_and_alert_state_survive_a_restart(tmp_path: Path) -> None:
    """A 4-point window filled across a restart fires as if the daemon never stopped, and an
    alert that fired before the restart recovers after it."""
    d = Daemon(tmp_path / "kapacitor")
    script = tmp_path / "state.kap"
    script.write_text("alert(avg(window(value, 4)), >, 50)\n")

    def processed() -> int:
        return int(d.cli("show", "state", "--json").json()["points_processed"])

    def write(values: list[float], start: int) -> None:
        lines = "".join(
            f"cpu,host=a value={v} {(start + i) * 10**9}\n" for i, v in enumerate(values)
        )
        assert d.write(lines).status_code == 204

    try:
        d.start()
        assert (
            d.cli("define", "--name", "state", "--from", "cpu", "--script", str(script)).code == 0
        )
        assert d.cli("enable", "state").code == 0
        d.wait_plugins_live()
        write([60, 60, 60], 0)
        wait_until(lambda: processed() == 3, what="three points processed")
        assert d.stop() == 0
        d.start()
        write([60], 3)  # the fourth point: the window is full only if it kept the first three
        fired = wait_until(lambda: d.alerts_log(), what="the alert from the restored window")
        assert [(a["level"], a["time_ns"]) for a in fired] == [("CRITICAL", 3 * 10**9)]
        assert d.stop() == 0
        d.start()
        write([-100], 4)
        events = wait_until(lambda: len(d.alerts_log()) >= 2 and d.alerts_log(), what="recovery")
        assert [(a["level"], a["previousLevel"], a["duration"]) for a in events] == [
            ("CRITICAL", "OK", 0),
            ("OK", "CRITICAL", 10**9),
        ]
        assert "restored 1 instance(s)" in d.log()
        # Re-defining starts afresh: the saved state belongs to the old definition.
        assert (
            d.cli("define", "--name", "state", "--from", "cpu", "--script", str(script)).code == 0
        )
        assert d.stop() == 0
        d.start()
        before = processed()
        write([60, 60, 60], 5)
        wait_until(lambda: processed() == before + 3, what="points after the re-definition")
        assert len(d.alerts_log()) == 2  # a fresh window of 3 points: nothing fires
    finally:
        d.stop()


def test_define_expire_forgets_silent_instances(tmp_path: Path) -> None:
    d = Daemon(tmp_path / "kapacitor")
    script = tmp_path / "cpu.kap"
    script.write_text("alert(avg(window(value, 2)), >, 50)\n")
    try:
        d.start()
        bad = d.cli(
            "define", "--name", "x", "--from", "cpu", "--script", str(script), "--expire", "soon"
        )
        assert (
            bad.code == 1 and "--expire must be a duration > 0 such as 1h, got 'soon'" in bad.stderr
        )
        args = ("--name", "cpu", "--from", "cpu", "--script", str(script), "--expire", "2s")
        assert d.cli("define", *args).code == 0
        assert d.cli("enable", "cpu").code == 0
        d.wait_plugins_live()
        assert d.write("cpu,host=a value=1 1\ncpu,host=b value=1 1\n").status_code == 204

        def show() -> dict[str, int]:
            doc = d.cli("show", "cpu", "--json").json()
            return {k: doc.get(k, 0) for k in ("instances", "instances_expired")}

        wait_until(lambda: show()["instances"] == 2, what="two instances")
        # Sizes are measured on the interpreter's timer (every second), not with the counts.
        wait_until(
            lambda: d.get("/kapacitor/v1/plugins/cpu").json()["state_bytes"] > 0,
            what="the instances' state measured",
        )
        wait_until(lambda: show() == {"instances": 0, "instances_expired": 2}, what="both expired")
        assert "Instances:        0 (2 expired)" in d.cli("show", "cpu").stdout
        assert d.cli("show", "cpu", "--json").json()["expire"] == "2s"

        limited = ("--name", "one", "--from", "cpu", "--script", str(script))
        mark = d.log_mark()
        assert d.cli("define", *limited, "--max-instances", "1").code == 0
        assert d.cli("enable", "one").code == 0
        d.wait_plugins_live(since=mark)
        assert d.write("cpu,host=a value=1 5\ncpu,host=b value=1 5\n").status_code == 204
        doc = wait_until(
            lambda: (j := d.cli("show", "one", "--json").json())["points_refused"] == 1 and j,
            what="a refused point",
        )
        assert (doc["instances"], doc["max_instances"]) == (1, 1)
        assert doc["last_error"].startswith("instance limit 1 reached")
    finally:
        d.stop()
