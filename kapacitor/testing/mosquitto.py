"""A real MQTT broker for tests: Debian's mosquitto (installed when missing), on a free
loopback port, anonymous, its data in a temporary directory."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from kapacitor.testing.debian import ensure_program
from kapacitor.testing.ports import free_port

START_TIMEOUT_S = 30.0


def ensure_mosquitto() -> str:
    """The mosquitto binary; installs Debian's `mosquitto` package first if it is missing."""
    return ensure_program("mosquitto", "mosquitto")


class Mosquitto:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def __enter__(self) -> Mosquitto:
        binary = ensure_mosquitto()
        self.root.mkdir(parents=True, exist_ok=True)
        conf = self.root / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            f"log_dest file {self.root}/mosquitto.log\n"
        )
        self.proc = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"mosquitto did not start: {(self.root / 'mosquitto.log').read_text()}"
                    ) from None
                time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
