"""Real receivers for alert handler tests: an HTTP server that records every POST exactly as
received (and answers as told), and a TCP server that records every line."""

from __future__ import annotations

import json
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookReceiver:
    """Records each POST: its body decoded as JSON (`bodies`), raw (`raw`), its headers and
    its X-Kapacitor-Event-Id. Answers the statuses in `statuses` in turn (then 200), each after
    `delay_s`."""

    def __init__(self, statuses: list[int] | None = None, delay_s: float = 0.0) -> None:
        self.bodies: list[Any] = []
        self.raw: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []
        self.event_ids: list[str] = []  # X-Kapacitor-Event-Id of each POST
        self.arrived = 0  # POSTs received, counted before the delay
        self.statuses = list(statuses or [])
        self.delay_s = delay_s
        self._lock = threading.Lock()
        receiver = self

        class _Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with receiver._lock:
                    receiver.arrived += 1
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                with receiver._lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.paths.append(self.path)
                    receiver.headers.append(dict(self.headers.items()))
                    receiver.raw.append(body)
                    receiver.event_ids.append(self.headers.get("X-Kapacitor-Event-Id", ""))
                    try:
                        receiver.bodies.append(json.loads(body or b"null"))
                    except ValueError:
                        receiver.bodies.append(body.decode(errors="replace"))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alert"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class TcpReceiver:
    """Records every line received on any connection (`lines`, without the newline)."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        receiver = self

        class _Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                for line in self.rfile:
                    receiver.lines.append(line.rstrip(b"\n"))

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> TcpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
