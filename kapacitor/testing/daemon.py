"""A real kapacitord in a temporary data dir, driven through its CLI and HTTP API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from kapacitor.testing.ports import free_port

START_TIMEOUT_S = 60.0


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

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

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
                if httpx.get(self.url + "/ping", timeout=1).status_code == 204:
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

    def cli(self, *args: str, stdin: str | None = None, timeout: float = 60.0) -> CliResult:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KAPACITOR_")}
        env["KAPACITOR_URL"] = self.url
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
            self.url + "/write", params={"db": db, **params}, content=data, timeout=60
        )

    def get(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(self.url + path, params=params, timeout=30)

    def alerts_log(self) -> list[dict[str, Any]]:
        path = self.data_dir / "alerts.log"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def wait_until(predicate: Any, timeout: float = 30.0, interval: float = 0.1, what: str = "") -> Any:
    """Poll `predicate()` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(
        f"timed out after {timeout}s waiting for {what or predicate}: last={last!r}"
    )
