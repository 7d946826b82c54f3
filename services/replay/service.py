"""Replay: records and replays bits of the stream into isolated subjects.

Recording and replaying land with the replay issue; for now the process joins the bus, declares
the shared topology and stays up so that kapacitord supervises the full set of services.
"""

from __future__ import annotations

import asyncio
import logging

from kapacitor.bus.client import setup, shutdown
from kapacitor.config import Config
from kapacitor.daemon.service import run_service

log = logging.getLogger("kapacitor.replay")


async def serve(cfg: Config, stop: asyncio.Event) -> None:
    nc, _js = await setup(cfg.nats_url, "kapacitor-replay")
    log.info("replay ready")
    await stop.wait()
    await shutdown(nc)


def main() -> None:
    run_service("replay", serve)
