"""Starts the embedded nats-server and one process per service, restarts crashed ones with
backoff, and stops everything in order on SIGTERM/SIGINT.

Services are forked from the supervisor after it has imported every service's code (and frozen
those objects out of the garbage collector's reach), so the processes share those pages instead
of each loading its own copy of Python, numpy, nats-py and FastAPI: about 40 MB of each
service's 45-70 MB. A service that crashes is forked again from the same clean image. Each is
still its own process, named `kap-<service>` (/proc/<pid>/comm), and `python -m services.<name>`
still runs one alone on another host.
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from kapacitor.bus.embedded import EmbeddedNats
from kapacitor.config import ALL_SERVICES, SERVICE_STOP_S, Config
from kapacitor.errors import ConfigError
from kapacitor.lifetime import end_with_parent, set_process_name

log = logging.getLogger("kapacitord")

BACKOFF_START_S = 0.5
STABLE_AFTER_S = 30.0
STOP_TIMEOUT_S = SERVICE_STOP_S + 5.0  # a service gives up by itself first
POLL_S = 0.2
# Shut down the front door first, so nothing new arrives while the pipeline drains.
STOP_ORDER = ("api", "ingest", "matcher", "interpreter", "replay")
COMM_PREFIX = "kap-"  # a service's /proc/<pid>/comm: kap-ingest, kap-interpreter, ...


UNUSED_IMPORTS = ("watchfiles", "httpx._main")

LOADED_WHEN_RUNNING: dict[str, tuple[str, ...]] = {
    "all": ("uvloop", "concurrent.futures.thread"),
    "api": (
        "anyio._backends._asyncio",
        "anyio.streams.memory",
        "anyio.streams.stapled",
        "anyio.streams.tls",
        "uvicorn.lifespan.on",
        "uvicorn.protocols.http.auto",
        "uvicorn.protocols.http.httptools_impl",
    ),
}


def preload(services: list[str]) -> None:
    """Import the services' code once, before any is forked, and keep the garbage collector off
    those objects: a collection would write to every page they sit on and unshare it."""
    # One BLAS thread: a thread pool started by numpy's import would not survive the fork.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # Packages import what no service uses, when it is installed: uvicorn its reloaders, and
    # with them watchfiles' Rust extension (0.8 MB; kapacitord never reloads, and without
    # watchfiles uvicorn has its stat reloader), httpx its command line, and with it rich and
    # pygments (3 MB less idle in all; httpx falls back to a stub when they are missing).
    for unused in UNUSED_IMPORTS:
        sys.modules.setdefault(unused, None)  # type: ignore[arg-type]
    for name in services:
        importlib.import_module(f"services.{name}.service")
    # What they import only once running (found by diffing sys.modules in a forked service).
    for module in LOADED_WHEN_RUNNING.get("all", ()) + tuple(
        m for name in services for m in LOADED_WHEN_RUNNING.get(name, ())
    ):
        try:
            importlib.import_module(module)
        except ImportError:  # optional: uvloop and httptools come with uvicorn[standard]
            pass
    gc.collect()
    gc.freeze()


def _run_forked(name: str, env: dict[str, str]) -> int:
    """The body of a forked service process; returns its exit code."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)
    end_with_parent()  # a SIGKILLed kapacitord leaves no orphans
    set_process_name(COMM_PREFIX + name)
    os.environ.clear()
    os.environ.update(env)
    sys.argv = [f"services.{name}"]
    try:
        importlib.import_module(f"services.{name}.service").main()
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 1
    except BaseException:
        logging.getLogger(name).exception("%s crashed", name)
        return 1
    return 0


@dataclass
class Child:
    name: str
    env: dict[str, str]
    pid: int = 0  # 0: not running
    started: float = 0.0
    backoff: float = BACKOFF_START_S
    restart_at: float = 0.0
    restarts: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the service: never return into the supervisor's code
            code = 1
            try:
                code = _run_forked(self.name, self.env)
            finally:
                logging.shutdown()
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        self.pid = pid
        self.started = time.monotonic()
        log.info("started %s (pid %d)", self.name, pid)

    def poll(self) -> int | None:
        """Its exit code once it has exited (reaped), else None; -N for signal N."""
        if not self.pid:
            return None
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            return 0
        if pid == 0:
            return None
        return os.waitstatus_to_exitcode(status)

    def signal(self, sig: int) -> None:
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass

    def wait(self, timeout: float) -> int | None:
        """Its exit code, or None if it is still running after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while (rc := self.poll()) is None:
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.02)
        return rc


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
                if c.pid:
                    c.signal(signal.SIGKILL)
            os._exit(1)
        log.info("signal %d: shutting down", signum)
        self._stopping = True

    def run(self) -> int:
        data_dir = self.cfg.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        preload(self.services)
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
            self.children[name] = Child(name, env)
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
                if not c.pid:
                    if now >= c.restart_at:
                        c.start()
                    continue
                rc = c.poll()
                if rc is None:
                    if now - c.started > STABLE_AFTER_S:
                        c.backoff = BACKOFF_START_S
                    continue
                c.restarts += 1
                log.error(
                    "%s exited with code %s; restart %d in %.1fs", c.name, rc, c.restarts, c.backoff
                )
                c.pid = 0
                c.restart_at = now + c.backoff
                c.backoff = min(c.backoff * 2, backoff_max)

    def stop_all(self) -> None:
        order = [n for n in STOP_ORDER if n in self.children]
        for name in order:
            c = self.children[name]
            if not c.pid or c.poll() is not None:
                continue
            c.signal(signal.SIGTERM)
            if c.wait(STOP_TIMEOUT_S) is None:
                log.warning("%s did not stop in %.0fs; killing it", name, STOP_TIMEOUT_S)
                c.signal(signal.SIGKILL)
                c.wait(STOP_TIMEOUT_S)
            c.pid = 0
            log.info("stopped %s", name)
        if self.nats is not None:
            self.nats.stop()
            log.info("stopped nats-server")
        pid = self.cfg.data_dir / "kapacitord.pid"
        if pid.exists():
            pid.unlink()


def write_pidfile(path: Path) -> None:
    path.write_text(str(os.getpid()))
