"""A real kapacitord in a temporary data dir, driven through its CLI and HTTP API."""

from __future__ import annotations

import json
import os
import re
import signal
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from kapacitor.config import DEFAULT_PARTITIONS
from kapacitor.match.partition import partition_of
from kapacitor.match.router import ROUTING_MESSAGE
from kapacitor.testing.ports import free_port
from kapacitor.testing.procs import children, ended
from kapacitor.testing.waits import WAIT_S, NotYet, wait_until

__all__ = ["CliResult", "Daemon", "wait_until"]

START_TIMEOUT_S = 60.0
# A plugin of its own measurement that never fires: see Daemon.add_witness.
WITNESS = "kapacitor_test_witness"


def witness_keys(partitions: int = 0) -> list[str]:
    """Tag values of the witness, one instance in each partition."""
    n = partitions or DEFAULT_PARTITIONS
    found: dict[int, str] = {}
    k = 0
    while len(found) < n:
        found.setdefault(partition_of(WITNESS, f"{WITNESS},w={k}", n), str(k))
        k += 1
    return [found[p] for p in range(n)]


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class Daemon:
    data_dir: Path
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    services: str | None = None
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    _witness_rounds: int = 0

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def tls(self) -> bool:
        """Whether its API is HTTPS (env KAPACITOR_HTTP_HTTPS_ENABLED), the certificate being
        its own CA (as `kapacitor.testing.tls.self_signed` makes one)."""
        return self.env.get("KAPACITOR_HTTP_HTTPS_ENABLED") == "true"

    def verify(self) -> ssl.SSLContext | bool:
        """How the tests' HTTP requests verify the API's certificate."""
        if not self.tls:
            return True
        return ssl.create_default_context(cafile=self.env["KAPACITOR_HTTP_HTTPS_CERTIFICATE"])

    @property
    def socket(self) -> Path:
        return self.data_dir / "kapacitor.sock"

    def environ(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KAPACITOR_")}
        env.update(
            {
                "KAPACITOR_DATA_DIR": str(self.data_dir),
                "KAPACITOR_HTTP_BIND_ADDRESS": f"127.0.0.1:{self.port}",
                "KAPACITOR_INTERPRETER_STATS_INTERVAL": "200ms",
                "KAPACITOR_LOGGING_LEVEL": "INFO",
            }
        )
        env.update(self.env)
        return env

    def start(self, wait_for: tuple[str, ...] = ("api",)) -> Daemon:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / "kapacitord.log"
        argv = [sys.executable, "-m", "kapacitor.daemon.main"]
        if self.services:
            argv += ["--services", self.services]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(argv, env=self.environ(), stdout=log, stderr=log)
        if "api" in wait_for:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"kapacitord exited with {self.proc.returncode}:\n{self.log()}")
            try:
                ping = httpx.get(self.url + "/ping", timeout=1, verify=self.verify())
                if ping.status_code == 204:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"kapacitord did not answer /ping in {timeout}s:\n{self.log()}")

    def wait_log(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            time.sleep(0.1)
        raise RuntimeError(f"{text!r} not logged in {timeout}s:\n{self.log()}")

    def log_mark(self) -> int:
        """Where the log ends now: pass it as `since` to look only at what is logged later."""
        return len(self.log())

    def nats_url(self) -> str:
        """The NATS server the services use: the configured one, else the embedded one last
        started (its port can change across restarts)."""
        url = self.environ().get("KAPACITOR_NATS_URL")
        if url:
            return url
        found: list[str] = re.findall(r"embedded nats-server at (nats://\S+)", self.log())
        if not found:
            raise RuntimeError(f"no embedded nats-server logged:\n{self.log()}")
        return found[-1]

    def routed_plugins(self, since: int = 0) -> int | None:
        """How many enabled plugins the matcher last said it routes to (it says so after every
        change of the definitions), looking only after log offset `since`; None if it has not."""
        pattern = re.escape(ROUTING_MESSAGE).replace("%d", r"(\d+)")
        found = re.findall(pattern, self.log()[since:])
        return int(found[-1]) if found else None

    def running_revisions(self, *names: str) -> dict[str, int]:
        """The revision of its definition the interpreter runs, for each plugin (0: none yet),
        as the API reports it."""
        docs = {n: self.get(f"/kapacitor/v1/plugins/{n}").json() for n in names}
        return {n: doc.get("stats", {}).get("running_revision", 0) for n, doc in docs.items()}

    def wait_plugins_live(
        self, since: int = 0, workers: Daemon | None = None, timeout: float = WAIT_S
    ) -> None:
        """Wait until points written from now on reach every enabled plugin as stored: the
        matcher routes to as many plugins as are enabled (scheduled ones aside: they read no
        points), and the interpreter runs each one's stored revision.

        `since`: a `log_mark()` of `workers` taken before the definitions changed, so that a
        matcher line from before the change cannot count. `workers`: the daemon running the
        matcher and the interpreter, when it is not this one. A plugin disabled and enabled
        again keeps its revision: the interpreter's reload of it is not told apart.
        """
        runner = workers or self

        def live() -> bool | NotYet:
            plugins = self.get("/kapacitor/v1/plugins").json()["plugins"]
            enabled = {p["name"]: p["revision"] for p in plugins if p["enabled"]}
            streams = sum(1 for p in plugins if p["enabled"] and not p["query"])
            routed = runner.routed_plugins(since)
            running = self.running_revisions(*enabled)
            if routed == streams and running == enabled:
                return True
            return NotYet({"enabled": enabled, "matcher routes": routed, "running": running})

        wait_until(live, timeout, "the enabled plugins to be routed to and running")

    def add_witness(self) -> None:
        """Define and enable the witness plugin, for `wait_handled`; then `wait_plugins_live`."""
        r = httpx.post(
            self.url + "/kapacitor/v1/plugins",
            json={
                "name": WITNESS,
                "from": WITNESS,
                "script": "alert(value, <, 0)\n",
                "enabled": True,
            },
            timeout=30,
        )
        assert r.status_code == 200, r.text

    def wait_handled(self, timeout: float = WAIT_S) -> None:
        """Wait until every point written before has been through the matcher and the
        interpreter, its alerts logged: what proves that something did *not* happen.

        Writes one point to a witness instance in each partition, making each change level,
        and waits until the alert log has all those events. The matcher keeps the stream's
        order, each partition is processed in order and the notifier delivers in the order
        the events were stored, so nothing written earlier is still on its way.
        """
        self._witness_rounds += 1
        value = -1 if self._witness_rounds % 2 else 1
        keys = witness_keys(int(self.environ().get("KAPACITOR_CLUSTER_PARTITIONS", "0") or 0))
        lines = "".join(f"{WITNESS},w={k} value={value}\n" for k in keys)
        assert self.write(lines).status_code == 204
        want = len(keys) * self._witness_rounds

        def logged() -> int:
            return sum(1 for e in self.alerts_log(witness=True) if e.get("plugin") == WITNESS)

        wait_until(lambda: logged() >= want, timeout, f"{want} witness alert events")

    def log(self) -> str:
        return (
            self.log_path.read_text(errors="replace")
            if self.log_path and self.log_path.exists()
            else ""
        )

    def stop(self, timeout: float = 60.0) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        return rc

    def kill_hard(self, timeout: float = 30.0) -> list[int]:
        """SIGKILL kapacitord, as a crash would, and wait until every process it started has
        ended by itself (each asked the kernel for SIGTERM when kapacitord dies); their pids."""
        assert self.proc is not None, "not started"
        kids = children(self.proc.pid)
        self.proc.kill()
        self.proc.wait()
        self.proc = None
        wait_until(
            lambda: all(ended(k) for k in kids), timeout, "the killed kapacitord's children to end"
        )
        return kids

    def cli(self, *args: str, stdin: str | None = None, timeout: float = 60.0) -> CliResult:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KAPACITOR_")}
        env["KAPACITOR_URL"] = self.url
        if self.tls:
            env["KAPACITOR_CA_CERT"] = self.env["KAPACITOR_HTTP_HTTPS_CERTIFICATE"]
        p = subprocess.run(
            [sys.executable, "-m", "kapacitor.cli.main", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
        )
        return CliResult(p.returncode, p.stdout, p.stderr)

    def write(self, body: bytes | str, db: str = "telegraf", **params: str) -> httpx.Response:
        data = body.encode() if isinstance(body, str) else body
        return httpx.post(
            self.url + "/write",
            params={"db": db, **params},
            content=data,
            timeout=60,
            verify=self.verify(),
        )

    def get(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(self.url + path, params=params, timeout=30, verify=self.verify())

    def alerts_log(self, *, witness: bool = False) -> list[dict[str, Any]]:
        """The events in the alert log, without the witness's (`wait_handled`) unless asked."""
        path = self.data_dir / "alerts.log"
        if not path.exists():
            return []
        events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return [e for e in events if witness or e.get("plugin") != WITNESS]
