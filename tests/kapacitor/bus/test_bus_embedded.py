"""The embedded nats-server: started with JetStream and its memory limit, stopped cleanly."""

from __future__ import annotations

from pathlib import Path

from kapacitor.bus.embedded import EmbeddedNats


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)


def test_memory_limit_reaches_the_server_as_gomemlimit(tmp_path: Path) -> None:
    server = EmbeddedNats(tmp_path / "nats", memory_limit=96 * 1024**2)
    url = server.start()
    try:
        assert url.startswith("nats://127.0.0.1:")
        assert server.proc is not None
        assert _environ(server.proc.pid)["GOMEMLIMIT"] == str(96 * 1024**2)
    finally:
        server.stop()
    assert not server.alive()


def test_no_memory_limit_sets_none(tmp_path: Path) -> None:
    server = EmbeddedNats(tmp_path / "nats", memory_limit=0)
    server.start()
    try:
        assert server.proc is not None
        assert "GOMEMLIMIT" not in _environ(server.proc.pid)
    finally:
        server.stop()
