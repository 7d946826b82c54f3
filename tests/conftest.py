from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kapacitor.testing.daemon import Daemon
from kapacitor.testing.nats import nats_server


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    with nats_server(tmp_path / "nats") as url:
        yield url


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    d = Daemon(tmp_path / "kapacitor")
    try:
        yield d
    finally:
        d.stop()
