"""The API process: one uvicorn server on the TCP bind address and the unix socket; with HTTPS,
one with TLS on the TCP address and a plain one on the unix socket, serving the same app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from typing import Any

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


def open_tcp(cfg: Config) -> socket.socket:
    host, port = parse_bind(cfg.http.bind_address)
    tcp = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        tcp.bind((host, port))
    except OSError as e:
        raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror}") from None
    tcp.listen(1024)
    return tcp


def open_unix(cfg: Config) -> socket.socket | None:
    path = cfg.unix_socket
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    uds = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    uds.bind(str(path))
    os.chmod(path, 0o660)
    uds.listen(1024)
    return uds


def tls_files(cfg: Config) -> tuple[str, str] | None:
    """(certificate, key) of the HTTPS API; None when it is plain HTTP."""
    if not cfg.http.https_enabled:
        return None
    cert = cfg.data_path(cfg.http.https_certificate)
    key = cfg.data_path(cfg.http.https_private_key) or cert
    if cert is None or key is None:
        raise ConfigError("http.https-enabled needs http.https-certificate")
    for what, path in (("https-certificate", cert), ("https-private-key", key)):
        if not path.is_file():
            raise ConfigError(f"http.{what}: no file {path}")
    return str(cert), str(key)


def _server(app: Any, **tls: Any) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=10,
        ws="none",  # no websocket routes: the websockets package stays unimported (2 MB)
        **tls,
    )
    server = uvicorn.Server(config)
    # We own signal handling (run_service); uvicorn must not install its own.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    return server


async def serve(cfg: Config, stop: asyncio.Event) -> None:
    tls = tls_files(cfg)
    tcp, uds = open_tcp(cfg), open_unix(cfg)
    app = create_app(cfg)
    if tls is None:  # one server for both sockets
        servers = [(_server(app, lifespan="on"), [s for s in (tcp, uds) if s is not None])]
    else:  # TLS on TCP only: a second, plain server for the unix socket, on the same app
        cert, key = tls
        servers = [(_server(app, lifespan="on", ssl_certfile=cert, ssl_keyfile=key), [tcp])]
        if uds is not None:
            servers.append((_server(app, lifespan="off"), [uds]))

    async def _stopper() -> None:
        await stop.wait()
        for server, _ in servers:
            server.should_exit = True

    async def _run(k: int) -> None:
        server, socks = servers[k]
        if k:  # the app's state is made by the first server's lifespan
            while not servers[0][0].started and not servers[0][0].should_exit:
                await asyncio.sleep(0.05)
        await server.serve(sockets=socks)

    task = asyncio.create_task(_stopper())
    socks = [s for _, group in servers for s in group]
    log.info(
        "api listening on %s%s",
        ", ".join(str(s.getsockname()) for s in socks),
        " (https on TCP)" if tls else "",
    )
    await asyncio.gather(*(_run(k) for k in range(len(servers))))
    task.cancel()
    if cfg.unix_socket is not None and cfg.unix_socket.exists():
        cfg.unix_socket.unlink()


def main() -> None:
    run_service("api", serve)
