"""The API process: one uvicorn server on the TCP bind address and the unix socket."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket

import uvicorn

from kapacitor.config import Config
from kapacitor.daemon.service import run_service
from kapacitor.errors import ConfigError
from services.api.app import create_app

log = logging.getLogger("kapacitor.api")


def parse_bind(addr: str) -> tuple[str, int]:
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"http.bind-address {addr!r} must be host:port or :port")
    return (host or "0.0.0.0"), int(port)


def open_sockets(cfg: Config) -> list[socket.socket]:
    host, port = parse_bind(cfg.http.bind_address)
    tcp = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        tcp.bind((host, port))
    except OSError as e:
        raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror}") from None
    tcp.listen(1024)
    socks = [tcp]
    path = cfg.unix_socket
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            path.unlink()
        uds = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        uds.bind(str(path))
        os.chmod(path, 0o660)
        uds.listen(1024)
        socks.append(uds)
    return socks


async def serve(cfg: Config, stop: asyncio.Event) -> None:
    socks = open_sockets(cfg)
    config = uvicorn.Config(
        create_app(cfg),
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=10,
        lifespan="on",
        ws="none",  # no websocket routes: the websockets package stays unimported (2 MB)
    )
    server = uvicorn.Server(config)
    # We own signal handling (run_service); uvicorn must not install its own.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]

    async def _stopper() -> None:
        await stop.wait()
        server.should_exit = True

    task = asyncio.create_task(_stopper())
    log.info("api listening on %s", ", ".join(str(s.getsockname()) for s in socks))
    await server.serve(sockets=socks)
    task.cancel()
    if cfg.unix_socket is not None and cfg.unix_socket.exists():
        cfg.unix_socket.unlink()


def main() -> None:
    run_service("api", serve)
