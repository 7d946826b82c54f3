"""A real InfluxDB 1.x for tests: the Debian package's influxd (installed when missing), started
on free loopback ports with its data in a temporary directory; and a proxy in front of it that
records the queries it is asked."""

from __future__ import annotations

import ssl
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
from kapacitor.testing.tls import self_signed

START_TIMEOUT_S = 60.0


def ensure_influxd() -> str:
    """The influxd binary; installs Debian's `influxdb` package first if it is missing."""
    return ensure_program("influxd", "influxdb")


ADMIN = ("admin", "s3cret")  # the user of an InfluxServer started with auth


class InfluxServer:
    def __init__(self, root: Path, *, auth: bool = False, tls: bool = False) -> None:
        self.root = root
        self.port = free_port()
        self.rpc_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.auth = ADMIN if auth else None
        self.tls = tls
        self.cert = root / "influx.crt"  # with tls: its certificate, the CA to trust

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def _verify(self) -> ssl.SSLContext | bool:
        return ssl.create_default_context(cafile=str(self.cert)) if self.tls else True

    def start(self) -> InfluxServer:
        binary = ensure_influxd()
        self.root.mkdir(parents=True, exist_ok=True)
        conf = self.root / "influxdb.conf"
        https = ""
        if self.tls:
            cert, key = self_signed(self.root)
            https = (
                f'  https-enabled = true\n  https-certificate = "{cert}"\n'
                f'  https-private-key = "{key}"\n'
            )
        conf.write_text(
            f'reporting-disabled = true\nbind-address = "127.0.0.1:{self.rpc_port}"\n'
            f'[meta]\n  dir = "{self.root}/meta"\n'
            f'[data]\n  dir = "{self.root}/data"\n  wal-dir = "{self.root}/wal"\n'
            "  query-log-enabled = false\n"
            "[monitor]\n  store-enabled = false\n"
            f'[http]\n  bind-address = "127.0.0.1:{self.port}"\n  log-enabled = false\n'
            f"  auth-enabled = {'true' if self.auth else 'false'}\n{https}"
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
                ping = httpx.get(self.url + "/ping", timeout=1, verify=self._verify())
                if ping.status_code == 204:
                    if self.auth:  # the first user may be made without credentials
                        user, password = self.auth
                        q = f"CREATE USER {user} WITH PASSWORD '{password}' WITH ALL PRIVILEGES"
                        httpx.post(
                            self.url + "/query", params={"q": q}, timeout=30, verify=self._verify()
                        )
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("influxd did not answer /ping in time")

    def query(self, q: str, db: str = "") -> dict[str, object]:
        r = httpx.post(
            self.url + "/query",
            params={"q": q, "db": db},
            auth=self.auth,
            timeout=30,
            verify=self._verify(),
        )
        r.raise_for_status()
        doc: dict[str, object] = r.json()
        return doc

    def write(self, db: str, body: str, precision: str = "ns") -> None:
        r = httpx.post(
            self.url + "/write",
            params={"db": db, "precision": precision},
            content=body.encode(),
            auth=self.auth,
            timeout=30,
            verify=self._verify(),
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

    def __init__(self, target: str, *, delay: float = 0.0) -> None:
        self.target = target
        self.delay = delay  # seconds each SELECT waits before it is forwarded: a slow InfluxDB
        self.queries: list[str] = []
        self.in_flight = 0  # SELECTs being answered now, and the most there ever were
        self.most_in_flight = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                params = parse_qs(url.query) | parse_qs(body.decode("latin-1"))
                asked = params.get("q", [])
                selecting = any(q.lstrip().upper().startswith("SELECT") for q in asked)
                with proxy._lock:
                    proxy.queries.extend(asked)
                    if selecting:
                        proxy.in_flight += 1
                        proxy.most_in_flight = max(proxy.most_in_flight, proxy.in_flight)
                try:
                    if selecting and proxy.delay:
                        time.sleep(proxy.delay)
                    r = httpx.request(
                        self.command,
                        proxy.target + self.path,
                        content=body,
                        headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
                        timeout=30,
                    )
                except httpx.HTTPError as e:  # InfluxDB gone (the test is ending): a 502
                    r = httpx.Response(502, text=f"proxy: {e}")
                finally:
                    if selecting:
                        with proxy._lock:
                            proxy.in_flight -= 1
                try:
                    self._answer(r)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout being tested)

            def _answer(self, r: httpx.Response) -> None:
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
