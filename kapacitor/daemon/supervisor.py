"""Starts the embedded nats-server and one process per service, restarts crashed ones with
backoff, and stops everything in order on SIGTERM/SIGINT."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from kapacitor.bus.embedded import EmbeddedNats
from kapacitor.config import ALL_SERVICES, Config
from kapacitor.errors import ConfigError

log = logging.getLogger("kapacitord")

BACKOFF_START_S = 0.5
STABLE_AFTER_S = 30.0
STOP_TIMEOUT_S = 15.0
POLL_S = 0.2
# Shut down the front door first, so nothing new arrives while the pipeline drains.
STOP_ORDER = ("api", "ingest", "matcher", "interpreter", "replay")
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # A SIGKILLed kapacitord must not leave orphans behind.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    backoff: float = BACKOFF_START_S
    restart_at: float = 0.0
    restarts: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, env=self.env, preexec_fn=_die_with_parent)
        self.started = time.monotonic()
        log.info("started %s (pid %d)", self.name, self.proc.pid)


def parse_services(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    bad = [n for n in names if n not in ALL_SERVICES]
    if bad:
        raise ConfigError(
            f"unknown service(s) {', '.join(bad)}: choose from {', '.join(ALL_SERVICES)}"
        )
    if not names:
        raise ConfigError("no services to run")
    return names


class Supervisor:
    def __init__(self, cfg: Config, services: list[str]) -> None:
        self.cfg = cfg
        self.services = services
        self.nats: EmbeddedNats | None = None
        self.children: dict[str, Child] = {}
        self._stopping = False

    def _request_stop(self, signum: int, frame: object) -> None:
        if self._stopping:
            log.warning("second signal: killing everything now")
            for c in self.children.values():
                if c.proc and c.proc.poll() is None:
                    c.proc.kill()
            os._exit(1)
        log.info("signal %d: shutting down", signum)
        self._stopping = True

    def run(self) -> int:
        data_dir = self.cfg.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        url = self.cfg.nats_url
        if not url:
            self.nats = EmbeddedNats(
                data_dir / "nats",
                host=self.cfg.nats.host,
                port=self.cfg.nats.port,
                binary=self.cfg.nats.server_bin,
                memory_limit=self.cfg.nats.memory_limit,
            )
            url = self.nats.start()
            # Keep the port across restarts of the server: the services reconnect to this URL.
            self.nats.port = int(url.rsplit(":", 1)[1])
            log.info("embedded nats-server at %s (store %s)", url, data_dir / "nats")
        env = self.cfg.with_overrides(KAPACITOR_NATS_URL=url, KAPACITOR_DATA_DIR=str(data_dir))
        env = {**os.environ, **env}
        env.pop("KAPACITOR_CONFIG_PATH", None)  # children get the resolved config through env
        for name in self.services:
            self.children[name] = Child(name, [sys.executable, "-m", f"services.{name}"], env)
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGINT, self._request_stop)
        for c in self.children.values():
            c.start()
        (data_dir / "kapacitord.pid").write_text(str(os.getpid()))
        try:
            self._watch()
        finally:
            self.stop_all()
        return 0

    def _watch(self) -> None:
        backoff_max = self.cfg.daemon.restart_backoff_max.seconds
        while not self._stopping:
            time.sleep(POLL_S)
            now = time.monotonic()
            if self.nats is not None and not self.nats.alive() and not self._stopping:
                log.error("nats-server exited; restarting it")
                self.nats.start()
            for c in self.children.values():
                if c.proc is None:
                    if now >= c.restart_at:
                        c.start()
                    continue
                rc = c.proc.poll()
                if rc is None:
                    if now - c.started > STABLE_AFTER_S:
                        c.backoff = BACKOFF_START_S
                    continue
                c.restarts += 1
                log.error(
                    "%s exited with code %s; restart %d in %.1fs", c.name, rc, c.restarts, c.backoff
                )
                c.proc = None
                c.restart_at = now + c.backoff
                c.backoff = min(c.backoff * 2, backoff_max)

    def stop_all(self) -> None:
        order = [n for n in STOP_ORDER if n in self.children]
        for name in order:
            c = self.children[name]
            if c.proc is None or c.proc.poll() is not None:
                continue
            c.proc.terminate()
            try:
                c.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0fs; killing it", name, STOP_TIMEOUT_S)
                c.proc.kill()
                c.proc.wait()
            log.info("stopped %s", name)
        if self.nats is not None:
            self.nats.stop()
            log.info("stopped nats-server")
        pid = self.cfg.data_dir / "kapacitord.pid"
        if pid.exists():
            pid.unlink()


def write_pidfile(path: Path) -> None:
    path.write_text(str(os.getpid()))
