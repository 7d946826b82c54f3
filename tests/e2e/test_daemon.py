"""kapacitord as an operator sees it: inputs, limits, errors, sockets, signals, crashes, scale."""

from __future__ import annotations

import asyncio
import gzip
import os
import re
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import nats

from kapacitor.testing.daemon import Daemon, wait_until
from kapacitor.testing.procs import children, cmdline, service_of

T0 = 1_700_000_000
SCRIPT = "alert(avg(window(value, 3)), <, 30)\n"


def lines_s(host: str, values: list[float], start: int = 0) -> str:
    """cpu_idle lines with second-precision timestamps."""
    return "".join(
        f"cpu_idle,host={host} value={v} {T0 + start + i}\n" for i, v in enumerate(values)
    )


def define_enabled(
    d: Daemon, tmp_path: Path, name: str = "p", where: str = "", workers: Daemon | None = None
) -> None:
    """Define and enable a plugin through `d`, and wait until `workers` (the daemon running the
    matcher and interpreter, `d` by default) route to it and run it."""
    mark = (workers or d).log_mark()
    f = tmp_path / f"{name}.kap"
    f.write_text(SCRIPT)
    args = ["define", "--name", name, "--from", "cpu_idle", "--script", str(f)]
    if where:
        args += ["--where", where]
    r = d.cli(*args)
    assert r.code == 0, r.stderr
    assert d.cli("enable", name).code == 0
    d.wait_plugins_live(since=mark, workers=workers)


def processed(d: Daemon, name: str = "p") -> int:
    return int(d.cli("show", name, "--json").json()["points_processed"])


def test_telegraf_nats_output_reaches_plugins(daemon: Daemon, tmp_path: Path) -> None:
    daemon.start()
    define_enabled(daemon, tmp_path)
    m = re.search(r"embedded nats-server at (nats://\S+)", daemon.log())
    assert m, daemon.log()

    async def publish() -> None:
        nc = await nats.connect(m.group(1))
        # Telegraf sends one metric per message, or many with use_batch_format (ns precision).
        await nc.publish("telegraf", f"cpu_idle,host=a value=10 {T0 * 10**9}".encode())
        many = "".join(f"cpu_idle,host=a value=10 {(T0 + i) * 10**9}\n" for i in (1, 2))
        await nc.publish("telegraf", many.encode())
        await nc.flush()
        await nc.close()

    asyncio.run(publish())
    wait_until(lambda: processed(daemon) == 3, what="3 points from NATS")


def test_gzip_and_precision(daemon: Daemon, tmp_path: Path) -> None:
    daemon.start()
    define_enabled(daemon, tmp_path)
    body = gzip.compress(lines_s("a", [50.0, 10.0, 10.0, 10.0]).encode())
    r = httpx.post(
        daemon.url + "/write",
        params={"db": "telegraf", "precision": "s"},
        content=body,
        headers={"Content-Encoding": "gzip"},
    )
    assert r.status_code == 204, r.text
    alerts = wait_until(daemon.alerts_log, what="an alert")
    assert alerts[0]["time_ns"] == (T0 + 2) * 10**9  # (50 + 10 + 10) / 3 < 30
    assert alerts[0]["time"] == "2023-11-14T22:13:22Z"


def test_a_point_too_large_for_the_bus_is_a_line_error(daemon: Daemon) -> None:
    daemon.start()
    line = b'm s="' + secrets.token_urlsafe(2_000_000).encode() + b'" 1\n'  # 2.7 MB, random
    good = b"m v=1 2\n"
    r = httpx.post(daemon.url + "/write", params={"db": "t"}, content=good + line, timeout=60)
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith("partial write: line 2: point too large to store")
    assert r.json()["accepted"] == 1


def test_limits_and_bad_requests_answer_json_errors(daemon: Daemon, tmp_path: Path) -> None:
    daemon.env["KAPACITOR_HTTP_MAX_BODY_SIZE"] = "1000"
    daemon.start()
    big = lines_s("a", [1.0] * 100)
    r = daemon.write(big)
    assert r.status_code == 413
    assert "limit is 1000 bytes" in r.json()["error"]
    r = httpx.post(
        daemon.url + "/write",
        params={"db": "telegraf"},
        content=gzip.compress(big.encode()),
        headers={"Content-Encoding": "gzip"},
    )
    assert r.status_code == 413  # the limit applies after gunzip
    r = httpx.post(daemon.url + "/write", content=b"cpu v=1")
    assert (r.status_code, r.json()["error"]) == (400, "database is required: add ?db=NAME")
    r = daemon.write("cpu v=1", precision="fortnight")
    assert r.status_code == 400 and "invalid precision" in r.json()["error"]
    r = httpx.post(
        daemon.url + "/write",
        params={"db": "x"},
        content=b"garbage",
        headers={"Content-Encoding": "gzip"},
    )
    assert r.status_code == 400 and "invalid gzip body" in r.json()["error"]
    r = httpx.post(daemon.url + "/kapacitor/v1/plugins", content=b"{not json")
    assert r.status_code == 400 and r.json()["error"].startswith("invalid request")
    r = httpx.post(daemon.url + "/kapacitor/v1/plugins", json={"name": "x"})
    assert r.status_code == 400 and "script" in r.json()["error"]
    body = {"name": "x", "script": "alert(value, >, 1)"}
    r = httpx.post(daemon.url + "/kapacitor/v1/plugins", json=body)
    assert r.status_code == 400 and "needs --from" in r.json()["error"]
    r = daemon.get("/kapacitor/v1/plugins/nope")
    assert (r.status_code, r.json()) == (404, {"error": "no plugin named 'nope'"})
    r = daemon.get("/kapacitor/v1/nothing-here")
    assert r.status_code == 404 and "error" in r.json()
    assert daemon.write("").status_code == 204
    spec = daemon.get("/openapi.json").json()
    assert "/kapacitor/v1/plugins" in spec["paths"]
    assert "Traceback" not in daemon.log()


def test_bad_script_or_where_is_rejected_with_position_and_nothing_stored(
    daemon: Daemon, tmp_path: Path
) -> None:
    daemon.start()
    f = tmp_path / "bad.kap"
    f.write_text("# watch idle\nalert(agv(window(value, 10)), <, 30)\n")
    r = daemon.cli("define", "--name", "bad", "--from", "cpu", "--script", str(f))
    assert r.code == 1
    assert f"{f}:2:7: unknown function 'agv': did you mean avg?" in r.stderr
    assert "  alert(agv(window(value, 10)), <, 30)\n        ^^^" in r.stderr
    f.write_text(SCRIPT)
    r = daemon.cli(
        "define", "--name", "bad", "--from", "cpu", "--script", str(f), "--where", "host = 'a' and"
    )
    assert r.code == 1
    assert "where:1:" in r.stderr
    assert daemon.cli("list", "--json").json() == {"plugins": []}
    r = daemon.cli("check", str(f))
    assert (r.code, r.stdout.strip()) == (0, f"{f}: ok")
    f.write_text("alert(avg(value), <, 30)\n")
    r = daemon.cli("check", str(f))
    assert r.code == 1 and "did you mean avg(window(value, N))?" in r.stderr


def test_unix_socket(daemon: Daemon, tmp_path: Path) -> None:
    daemon.start()
    assert daemon.socket.exists()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAPACITOR_")}
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "kapacitor.cli.main",
            "--socket",
            str(daemon.socket),
            "list",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().startswith("{")


def test_sigterm_stops_everything_in_order_without_orphans(daemon: Daemon) -> None:
    daemon.start()
    assert daemon.proc is not None
    kids = children(daemon.proc.pid)
    assert any("nats-server" in cmdline(k) for k in kids)
    assert sorted(map(service_of, kids)) == sorted(
        ["", "ingest", "matcher", "interpreter", "replay", "api"]
    )
    assert daemon.stop() == 0
    for k in kids:
        assert not os.path.exists(f"/proc/{k}") or "zombie" in open(f"/proc/{k}/status").read()
    log = daemon.log()
    assert (
        log.index("stopped api") < log.index("stopped matcher") < log.index("stopped nats-server")
    )


def test_crashed_service_is_restarted(daemon: Daemon, tmp_path: Path) -> None:
    daemon.start()
    define_enabled(daemon, tmp_path)
    assert daemon.proc is not None
    matcher = next(k for k in children(daemon.proc.pid) if service_of(k) == "matcher")
    os.kill(matcher, signal.SIGKILL)
    daemon.wait_log("matcher exited with code -9")
    assert daemon.write(lines_s("a", [50.0, 40.0])).status_code == 204
    wait_until(lambda: processed(daemon) == 2, what="points processed after the restart")


def test_service_alone_needs_a_nats_url() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAPACITOR_")}
    p = subprocess.run(
        [sys.executable, "-m", "services.matcher"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert p.returncode == 2
    assert "nats.url (KAPACITOR_NATS_URL) must be set" in p.stderr


def test_external_nats_and_services_split_over_two_daemons(nats_url: str, tmp_path: Path) -> None:
    front = Daemon(tmp_path / "front", services="api,ingest", env={"KAPACITOR_NATS_URL": nats_url})
    back = Daemon(
        tmp_path / "back",
        services="matcher,interpreter,replay",
        env={"KAPACITOR_NATS_URL": nats_url},
    )
    try:
        front.start()
        back.start(wait_for=())
        back.wait_log("interpreter ready")
        assert "embedded nats-server" not in front.log() + back.log()
        define_enabled(front, tmp_path, workers=back)
        assert front.write(lines_s("a", [50.0, 10.0, 10.0, 10.0])).status_code == 204
        alerts = wait_until(back.alerts_log, what="an alert raised by the other daemon")
        assert alerts[0]["level"] == "CRITICAL"
        assert front.alerts_log() == []
    finally:
        front.stop()
        back.stop()


def test_sigkill_leaves_no_orphans(daemon: Daemon) -> None:
    """kapacitord killed -9 cannot clean up: each child asked the kernel to end it then."""
    daemon.start()
    assert daemon.proc is not None
    kids = children(daemon.proc.pid)
    assert any("nats-server" in cmdline(k) for k in kids) and len(kids) == 6
    assert sorted(daemon.kill_hard()) == sorted(kids)  # waits until each has ended
    assert daemon.start() is daemon  # its data directory and port are free to start again
