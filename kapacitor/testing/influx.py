"""A real InfluxDB 1.x for tests: the Debian package's influxd (installed when missing), started
on free loopback ports with its data in a temporary directory; and a proxy in front of it that
records the queries it is asked."""

from __future__ import annotations

import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from kapacitor.testing.debian import ensure_program
from kapacitor.testing.ports import free_port

START_TIMEOUT_S = 60.0


def ensure_influxd() -> str:
    """The influxd binary; installs Debian's `influxdb` package first if it is missing."""
    return ensure_program("influxd", "influxdb")


class InfluxServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.rpc_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> InfluxServer:
        binary = ensure_influxd()
        self.root.mkdir(parents=True, exist_ok=True)
        conf = self.root / "influxdb.conf"
        conf.write_text(
            f'reporting-disabled = true\nbind-address = "127.0.0.1:{self.rpc_port}"\n'
            f'[meta]\n  dir = "{self.root}/meta"\n'
            f'[data]\n  dir = "{self.root}/data"\n  wal-dir = "{self.root}/wal"\n'
            "  query-log-enabled = false\n"
            "[monitor]\n  store-enabled = false\n"
            f'[http]\n  bind-address = "127.0.0.1:{self.port}"\n  log-enabled = false\n'
            "[ifql]\n  enabled = false\n"
        )
        log = (self.root / "influxd.log").open("ab")
        with log:
            self.proc = subprocess.Popen([binary, "-config", str(conf)], stdout=log, stderr=log)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"influxd exited: {(self.root / 'influxd.log').read_text()[-2000:]}"
                )
            try:
                if httpx.get(self.url + "/ping", timeout=1).status_code == 204:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("influxd did not answer /ping in time")

    def query(self, q: str, db: str = "") -> dict[str, object]:
        r = httpx.post(self.url + "/query", params={"q": q, "db": db}, timeout=30)
        r.raise_for_status()
        doc: dict[str, object] = r.json()
        return doc

    def write(self, db: str, body: str, precision: str = "ns") -> None:
        r = httpx.post(
            self.url + "/write",
            params={"db": db, "precision": precision},
            content=body.encode(),
            timeout=30,
        )
        if r.status_code != 204:
            raise RuntimeError(f"influx write failed: {r.status_code} {r.text}")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class CountingProxy:
    """An HTTP proxy in front of an InfluxServer that records every query it forwards, to
    see who asked InfluxDB what, and how often."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.queries: list[str] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                params = parse_qs(url.query) | parse_qs(body.decode("latin-1"))
                with proxy._lock:
                    proxy.queries.extend(params.get("q", []))
                r = httpx.request(
                    self.command,
                    proxy.target + self.path,
                    content=body,
                    headers={k: v for k, v in self.headers.items() if k.lower() not in ("host",)},
                    timeout=30,
                )
                self.send_response(r.status_code)
                for k, v in r.headers.items():
                    if k.lower() not in (
                        "transfer-encoding",
                        "content-length",
                        "content-encoding",
                        "connection",
                    ):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(r.content)))
                self.end_headers()
                self.wfile.write(r.content)

            do_GET = do_POST = _forward

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def selects(self) -> list[str]:
        with self._lock:
            return [q for q in self.queries if q.lstrip().upper().startswith("SELECT")]

    def __enter__(self) -> CountingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
