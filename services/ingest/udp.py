"""UDP line protocol in: `[[udp]]` listeners and those of InfluxDB's udp subscriptions.

Datagrams wait in a queue of `buffer` (what arrives while it is full is dropped and counted,
as UDP gives no way to push back); a worker joins what is waiting, up to JOIN_BYTES, into one
write and stores it in the POINTS stream, so a burst of small datagrams costs one parse and one
publish, not one each."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable

from kapacitor.bus.input_store import UdpStats
from kapacitor.clock import Clock
from kapacitor.ingest import Write
from kapacitor.tasks import cancel_and_wait

log = logging.getLogger("kapacitor.udp")

# What one write joins of the datagrams waiting (a datagram is at most 64 KiB).
JOIN_BYTES = 1024 * 1024

Store = Callable[[Write], Awaitable[None]]


def split_bind(address: str) -> tuple[str, int]:
    """(host, port) of "host:port" or ":port" (all interfaces)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"{address!r} is not host:port")
    return host.strip("[]") or "0.0.0.0", int(port)


class UdpListener(asyncio.DatagramProtocol):
    def __init__(
        self,
        stats: UdpStats,
        *,
        precision: str,
        buffer: int,
        read_buffer: int,
        store: Store,
        clock: Clock,
    ) -> None:
        self.stats = stats
        self.precision = precision
        self.read_buffer = read_buffer
        self.store = store
        self.clock = clock
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(max(1, buffer))
        self.transport: asyncio.DatagramTransport | None = None
        self._worker: asyncio.Task[None] | None = None
        self._lost_logged = False

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    async def open(self, host: str, port: int) -> int:
        """Bind (port 0: any free one) and start; the port bound. OSError when it cannot."""
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            if self.read_buffer > 0:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.read_buffer)
            sock.bind((host, port))
        except OSError:
            sock.close()
            raise
        self.transport, _ = await loop.create_datagram_endpoint(lambda: self, sock=sock)
        self.stats.listener = f"{host}:{self.port}"
        self._worker = asyncio.create_task(self._run())
        log.info(
            "accepting line protocol over UDP on %s (db %s, rp %s)",
            self.stats.listener,
            self.stats.db,
            self.stats.rp,
        )
        return self.port

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        self.stats.received += 1
        try:
            self.queue.put_nowait(data)
        except asyncio.QueueFull:
            self.stats.dropped += 1

    def error_received(self, exc: Exception) -> None:
        self.stats.last_error = str(exc)

    def _take(self, first: bytes) -> list[bytes]:
        got, size = [first], len(first)
        while size < JOIN_BYTES and not self.queue.empty():
            d = self.queue.get_nowait()
            got.append(d)
            size += len(d)
        return got

    async def _run(self) -> None:
        while True:
            datagrams = self._take(await self.queue.get())
            try:
                await self._write(datagrams)
            except Exception as e:  # the loop's boundary: count, log once per outage, go on
                self.stats.lost += len(datagrams)
                self.stats.last_error = f"cannot store: {e}"
                if not self._lost_logged:
                    log.error("udp %s: cannot store points: %s", self.stats.listener, e)
                    self._lost_logged = True
            else:
                self._lost_logged = False

    async def _write(self, datagrams: list[bytes]) -> None:
        w = self._parse(b"\n".join(datagrams))
        if w.conflict is not None and len(datagrams) > 1:
            # Two senders' datagrams may give one field two types: one refused datagram must
            # not take the others with it, so each is a write of its own.
            writes = [self._parse(d) for d in datagrams]
        else:
            writes = [w]
        for w in writes:
            if w.messages:
                await self.store(w)
            self.stats.points += w.accepted
            self.stats.bad_lines += w.rejected
            if w.errors:
                e = w.conflict or w.errors[0]
                self.stats.last_error = f"line {e.line}: {e.reason}"

    def _parse(self, body: bytes) -> Write:
        w = Write(self.stats.db, self.stats.rp, self.precision, self.clock.now_ns())
        w.add_chunk(body)
        return w

    async def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        await cancel_and_wait(self._worker)
