"""kind: tcp — write each event as one JSON line to a TCP peer (Kapacitor's tcp handler)."""

from __future__ import annotations

import asyncio

from kapacitor.alerting.kinds.base import Event, Options, Undelivered
from kapacitor.config import Config


class TcpOptions(Options, frozen=True, kw_only=True, forbid_unknown_fields=True):
    address: str  # host:port

    def check(self) -> None:
        super().check()
        host, sep, port = self.address.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"address must be host:port, got {self.address!r}")


class TcpSender:
    """One connection per event, as Kapacitor does: no idle connection to keep alive."""

    def __init__(self, options: TcpOptions, cfg: Config | None = None) -> None:
        self.options = options
        host, _, port = options.address.rpartition(":")
        self.host, self.port = host.strip("[]"), int(port)

    async def send(self, event: Event) -> None:
        try:
            async with asyncio.timeout(self.options.timeout_s):
                _, writer = await asyncio.open_connection(self.host, self.port)
                try:
                    writer.write(event.data + b"\n")
                    await writer.drain()
                finally:
                    writer.close()
                    await writer.wait_closed()
        except (OSError, TimeoutError) as e:
            raise Undelivered(f"tcp {self.options.address}: {e or 'timed out'}", retry=True) from e

    async def close(self) -> None:
        return None
