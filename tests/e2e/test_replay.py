"""The founding loop, through the CLI: record (InfluxDB and live), define, replay, enable, push."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from kapacitor.testing.daemon import Daemon, wait_until
from kapacitor.testing.influx import InfluxServer

SCRIPT = "alert(avg(window(value, 10)), <, 30)\n"
S = 1_000_000_000
VALUES = [50.0] * 10 + [10.0] * 15 + [80.0] * 10


def lines(t0: int, values: list[float], host: str = "a") -> str:
    out = []
    for i, v in enumerate(values):
        out.append(
            f"cpu_idle,host={host},dc=east,key=value,key2=other_value value={v} {t0 + i * S}"
        )
        out.append(f"cpu_idle,host={host},dc=east,key=no,key2=other_value value={v} {t0 + i * S}")
    return "\n".join(out) + "\n"


def recording_id(stdout: str) -> str:
    m = re.fullmatch(r"RecordingID=(\S+)\n", stdout)
    assert m, stdout
    return m.group(1)


def test_record_define_replay_enable_push(tmp_path: Path) -> None:
    influx = InfluxServer(tmp_path / "influx").start()
    local = Daemon(tmp_path / "local")
    prod = Daemon(tmp_path / "prod")
    try:
        local.start()
        prod.start()
        t0 = (time.time_ns() // S - 600) * S  # ten minutes ago: inside "now() - 1h"
        influx.query("CREATE DATABASE telegraf")
        influx.write("telegraf", lines(t0, VALUES))

        r = local.cli(
            "record",
            "--host",
            influx.url,
            "--query",
            "select value from cpu_idle where time > now() - 1h",
        )
        assert r.code == 0, r.stderr
        from_influx = recording_id(r.stdout)

        r = local.cli("start-recording", "--from", "cpu_idle")
        assert r.code == 0, r.stderr
        live_id = recording_id(r.stdout)
        assert local.write(lines(t0, VALUES)).status_code == 204
        wait_until(
            lambda: (
                local.get(f"/kapacitor/v1/recordings/{live_id}").json()["points"] == 2 * len(VALUES)
            ),
            what="the live recording to hold the points written",
        )
        r = local.cli("stop-recording")
        assert r.code == 0, r.stderr
        assert recording_id(r.stdout) == live_id

        listed = {x["id"]: x for x in local.cli("recordings", "--json").json()["recordings"]}
        assert listed[from_influx]["points"] == 2 * len(VALUES)
        assert listed[from_influx]["kind"] == "query"
        assert listed[live_id]["points"] == 2 * len(VALUES)
        assert listed[live_id]["measurements"] == ["cpu_idle"]

        script = tmp_path / "cpu.kap"
        script.write_text(SCRIPT)
        r = local.cli(
            "define",
            "--name",
            "my_alert_script",
            "--from",
            "cpu_idle",
            "--where",
            "key = 'value' and key2 = 'other_value'",
            "--script",
            str(script),
        )
        assert r.code == 0, r.stderr

        saved = tmp_path / "report.json"
        reports = {}
        for rid in (from_influx, live_id):
            r = local.cli("replay", rid, "my_alert_script", "--json")
            assert r.code == 0, r.stderr
            reports[rid] = r.json()
        for rep in reports.values():
            assert rep["points_replayed"] == 2 * len(VALUES)
            assert rep["points_matched"] == len(VALUES)
            assert [(a["level"], a["time_ns"]) for a in rep["alerts"]] == [
                ("CRITICAL", t0 + 15 * S),
                ("OK", t0 + 27 * S),
            ]
        started = time.monotonic()
        r = local.cli("replay", live_id, "my_alert_script", "--speed", "20", "--json")
        assert r.code == 0, r.stderr
        assert time.monotonic() - started >= 34 / 20  # 34 s of recorded time at 20x
        assert r.json()["alerts"] == reports[live_id]["alerts"]
        r = local.cli("replay", from_influx, "my_alert_script", "--save", str(saved))
        assert r.code == 0 and "CRITICAL" in r.stdout, r.stderr
        r = local.cli("replay", live_id, "my_alert_script", "--expect", str(saved))
        assert r.code == 0, r.stderr  # both recordings hold the same points
        doctored = json.loads(saved.read_text())
        doctored["alerts"][0]["level"] = "WARNING"
        saved.write_text(json.dumps(doctored))
        r = local.cli("replay", live_id, "my_alert_script", "--expect", str(saved))
        assert r.code == 1 and "differs" in r.stderr

        # The replay touched nothing live: no alert in the log, no points counted.
        assert local.alerts_log() == []
        assert local.cli("show", "my_alert_script", "--json").json()["points_processed"] == 0

        assert local.cli("enable", "my_alert_script").code == 0
        r = local.cli("push", "--remote", prod.url, "my_alert_script", "--enable")
        assert r.code == 0, r.stderr
        there = prod.cli("show", "my_alert_script", "--json").json()
        assert there["enabled"] is True and there["script"] == SCRIPT

        # Live processing of the same points raises the same alerts as the replay.
        local.wait_plugins_live()
        assert local.write(lines(t0, VALUES)).status_code == 204
        live = wait_until(
            lambda: len(local.alerts_log()) >= 2 and local.alerts_log(), what="live alerts"
        )
        assert [(a["level"], a["time_ns"], a["value"]) for a in live] == [
            (a["level"], a["time_ns"], a["value"]) for a in reports[live_id]["alerts"]
        ]

        script.write_text("alert(avg(window(value, 10)), <, 50)\n")
        assert (
            local.cli(
                "define", "--name", "my_alert_script", "--from", "cpu_idle", "--script", str(script)
            ).code
            == 0
        )
        r = local.cli("push", "--remote", prod.url, "my_alert_script")
        assert r.code == 1 and "--force" in r.stderr
        assert local.cli("push", "--remote", prod.url, "my_alert_script", "--force").code == 0
        r = local.cli("push", "--remote", "http://127.0.0.1:9", "my_alert_script")
        assert r.code == 1 and "cannot reach" in r.stderr

        r = local.cli("record", "--host", "http://127.0.0.1:9", "--query", "select * from x")
        assert r.code == 1 and "cannot reach InfluxDB" in r.stderr and r.stdout == ""
        r = local.cli("record", "--host", influx.url, "--query", "select * from nothing_here")
        assert r.code == 1 and "no points" in r.stderr

        exported = local.cli("export", live_id)
        assert exported.code == 0 and exported.stdout.count("cpu_idle,") == 2 * len(VALUES)
        lp = tmp_path / "rec.lp"
        lp.write_text(exported.stdout)
        r = local.cli("import", str(lp))
        assert r.code == 0, r.stderr
        imported = recording_id(r.stdout)
        r = local.cli("replay", imported, "my_alert_script", "--json")
        assert r.code == 0 and r.json()["points_replayed"] == 2 * len(VALUES)
        assert local.cli("delete-recording", imported).code == 0
        r = local.cli("show-recording", imported)
        assert r.code == 1 and "no recording" in r.stderr
    finally:
        local.stop()
        prod.stop()
        influx.stop()


def test_timed_recording_survives_restart_and_replays_side_by_side(tmp_path: Path) -> None:
    import threading

    d = Daemon(tmp_path / "k")
    try:
        d.start()
        t0 = (time.time_ns() // S - 600) * S
        script = tmp_path / "cpu.kap"
        script.write_text(SCRIPT)
        assert (
            d.cli("define", "--name", "p", "--from", "cpu_idle", "--script", str(script)).code == 0
        )
        result: dict[str, object] = {}

        def record() -> None:
            result["r"] = d.cli("record", "--duration", "3s", "--from", "cpu_idle")

        recorder = threading.Thread(target=record)
        recorder.start()
        wait_until(
            lambda: [
                r
                for r in d.get("/kapacitor/v1/recordings").json()["recordings"]
                if r["status"] == "running"
            ],
            what="the timed recording to start",
        )
        assert d.write(lines(t0, VALUES, host="x")).status_code == 204
        recorder.join(60)
        r = result["r"]
        assert r.code == 0, r.stderr  # type: ignore[attr-defined]
        rid = recording_id(r.stdout)  # type: ignore[attr-defined]

        assert d.stop() == 0
        d.start()
        info = d.cli("show-recording", rid, "--json").json()
        assert (info["status"], info["points"]) == ("finished", 2 * len(VALUES))

        outs: list[object] = [None, None]

        def run(i: int) -> None:
            outs[i] = d.cli("replay", rid, "p", "--json")

        threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        reports = [o.json() for o in outs]  # type: ignore[union-attr]
        assert reports[0]["alerts"] == reports[1]["alerts"]
        assert len(reports[0]["alerts"]) == 4  # CRITICAL and OK for each of the two series
        assert d.alerts_log() == []
        r2 = d.cli("replay", rid, "p", "--send-alerts")
        assert r2.code == 0, r2.stderr
        assert [a["level"] for a in d.alerts_log()] == [a["level"] for a in reports[0]["alerts"]]
    finally:
        d.stop()


def test_replay_progress_bar_on_a_terminal_and_nothing_on_a_pipe(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    d = Daemon(tmp_path / "k")
    try:
        d.start()
        t0 = (time.time_ns() // S - 600) * S
        lp = tmp_path / "rec.lp"
        lp.write_text(lines(t0, VALUES * 4))
        script = tmp_path / "cpu.kap"
        script.write_text(SCRIPT)
        assert (
            d.cli("define", "--name", "p", "--from", "cpu_idle", "--script", str(script)).code == 0
        )
        rid = recording_id(d.cli("import", str(lp)).stdout)
        piped = d.cli("replay", rid, "p", "--speed", "100")
        assert piped.code == 0 and piped.stderr == ""
        env = {k: v for k, v in os.environ.items() if not k.startswith("KAPACITOR_")}
        env.update(KAPACITOR_URL=d.url, COLUMNS="120", TERM="xterm")
        cmd = f"{sys.executable} -m kapacitor.cli.main replay {rid} p --speed 100 > /dev/null"
        tty = subprocess.run(
            ["script", "-qec", cmd, "/dev/null"], capture_output=True, env=env, timeout=120
        )
        out = tty.stdout.decode(errors="replace")
        assert tty.returncode == 0, out
        assert "Traceback" not in out
        assert "points/s" in out and f"replaying {rid}" in out
    finally:
        d.stop()
