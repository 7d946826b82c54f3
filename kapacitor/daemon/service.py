"""What every service process does the same way: config, logging, signals, the event loop."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from kapacitor.config import ORPHAN_STOP_S, SERVICE_STOP_S, Config, load_config
from kapacitor.errors import KapacitorError

ServiceMain = Callable[[Config, asyncio.Event], Awaitable[None]]


def setup_logging(level: str, name: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format=f"%(asctime)s %(levelname)s [{name}] %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,  # a service forked by kapacitord replaces the supervisor's handler
    )
    # httpx logs every request at INFO: a scheduled plugin's every tick, each subscription
    # sync's statements. Failures are logged by their callers, with what was being done.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def run_service(name: str, main: ServiceMain, argv: list[str] | None = None) -> None:
    """Run `main(config, stop)` until SIGTERM/SIGINT sets `stop`; exit 1 on a KapacitorError."""
    parser = argparse.ArgumentParser(prog=f"python -m services.{name}")
    parser.add_argument("-config", "--config", dest="config", default=None, help="TOML config file")
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config)
    except KapacitorError as e:
        print(f"{name}: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    setup_logging(cfg.logging.level, name)
    if not cfg.nats_url:
        print(
            f"{name}: nats.url (KAPACITOR_NATS_URL) must be set to run a service alone",
            file=sys.stderr,
        )
        raise SystemExit(2)

    parent = os.getppid()

    async def _amain() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def stopping() -> None:
            if stop.is_set():
                return
            stop.set()
            # A stop that hangs (the bus it would save to is gone) must not leave the process
            # behind: nobody may be left to kill it.
            grace = ORPHAN_STOP_S if os.getppid() != parent else SERVICE_STOP_S
            loop.call_later(grace, _give_up, name, grace)

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping)
        await main(cfg, stop)

    try:
        run_loop(_amain())
    except KapacitorError as e:
        logging.getLogger(name).error("%s", e)
        raise SystemExit(1) from None


def _give_up(name: str, grace: float) -> None:
    logging.getLogger(name).warning("%s did not stop within %.0fs: exiting now", name, grace)
    logging.shutdown()
    os._exit(1)


def run_loop(coro: Coroutine[Any, Any, None]) -> None:
    """uvloop when installed (it is with uvicorn[standard]), else asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
        return
    uvloop.run(coro)
