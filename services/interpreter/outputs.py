"""Sending what the plugins' outputs wrote (kapacitor.engine.outputs): influxdb_out() to
InfluxDB, loopback() into our own POINTS stream, publish() to a NATS subject; http_out()'s
latest values are kept here for the API to ask (`serve_http_out`).

What a partition's batches wrote waits here until sent: every FLUSH_S, when more than
FLUSH_POINTS points wait, and, for the partition being saved, before its save: its messages
are acknowledged only once their outputs are sent (or dropped after the last retry, counted),
so a crash never loses an output of an acknowledged point (a redelivered one writes it again:
InfluxDB keeps one point per series and time, so a rewrite changes nothing)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import msgspec

from kapacitor.bus import subjects
from kapacitor.bus.client import NatsBus
from kapacitor.bus.interface import Message, Stored
from kapacitor.config import STORE_ACK_TIMEOUT_S, Config
from kapacitor.engine.outputs import Output
from kapacitor.errors import KapacitorError, LineProtocolError
from kapacitor.host import PluginHost
from kapacitor.http_out import HttpOutQuery, LatestValues
from kapacitor.influx.cluster import InfluxCluster
from kapacitor.lineprotocol.encode import encode_batch_lines
from kapacitor.model import encode_batch
from kapacitor.model.batch import PointBatch

log = logging.getLogger("kapacitor.outputs")

FLUSH_S = 1.0
FLUSH_POINTS = 5_000  # waiting points that make a flush start at once
RETRIES = 3  # attempts of an InfluxDB write before its points are dropped
RETRY_WAIT_S = 0.5  # doubled after each failed attempt


@dataclass
class _Waiting:
    # (plugin, output, id): the id names the output by the MATCHED messages it came from
    outputs: list[tuple[str, Output, str]] = field(default_factory=list)
    points: int = 0


class OutputSender:
    def __init__(self, cfg: Config, bus: NatsBus, host: PluginHost) -> None:
        self.cfg = cfg
        self.bus = bus
        self.host = host
        self.waiting: dict[int, _Waiting] = {}
        self.latest = LatestValues()
        self.clusters: dict[str, InfluxCluster] = {}
        self._due = asyncio.Event()
        self._sending = asyncio.Lock()  # one send at a time: writes keep their order

    def add(self, taken: Sequence[tuple[str, int, Output]], seq: int) -> None:
        """What a round of processing wrote, up to MATCHED message `seq`: http_out()'s is
        kept at once, the rest waits."""
        for k, (plugin, p, out) in enumerate(taken):
            if out.op.kind == "http_out":
                self.latest.update(plugin, out.op.target, out.batch)
                continue
            w = self.waiting.setdefault(p, _Waiting())
            w.outputs.append((plugin, out, f"{p}.{seq}.{k}"))
            w.points += len(out.batch)
            if w.points >= FLUSH_POINTS:
                self._due.set()

    def take(self, p: int) -> list[tuple[str, Output, str]]:
        """Partition `p`'s waiting outputs (the caller sends them: `send(p, ...)`)."""
        w = self.waiting.pop(p, None)
        return w.outputs if w is not None else []

    def forget(self, p: int) -> None:
        """Partition `p` went to another member: its next owner writes them again."""
        self.waiting.pop(p, None)

    async def run(self) -> None:
        """Send what waits every FLUSH_S, or sooner when much waits."""
        while True:
            try:
                await asyncio.wait_for(self._due.wait(), FLUSH_S)
            except TimeoutError:
                pass
            self._due.clear()
            for p in list(self.waiting):
                await self.send(p, self.take(p))

    async def send(self, p: int, outputs: list[tuple[str, Output, str]]) -> None:
        # Under the lock even with nothing to send: a save waits out a flush in progress
        # (which may hold the partition's outputs) before it acknowledges anything.
        async with self._sending:
            if not outputs:
                return
            groups: dict[tuple[str, ...], list[tuple[str, PointBatch, str]]] = {}
            for plugin, out, ident in outputs:
                op = out.op
                key = (op.kind, op.cluster, op.db or out.batch.db, op.rp, op.target)
                groups.setdefault(key, []).append((plugin, out.batch, ident))
            for (kind, cluster, db, rp, target), batches in groups.items():
                if kind == "influxdb_out":
                    await self._influxdb(p, cluster, db, rp, batches)
                elif kind == "loopback":
                    await self._loopback(p, batches)
                else:
                    await self._publish(p, target, batches)

    async def _influxdb(
        self, p: int, cluster: str, db: str, rp: str, batches: list[tuple[str, PointBatch, str]]
    ) -> None:
        body, counts = self._lines(p, "influxdb_out", batches)
        if not body:
            return
        wait, problem = RETRY_WAIT_S, ""
        for attempt in range(RETRIES):
            try:
                influx = self._cluster(cluster)
                await influx.write(db, rp, body)
            except KapacitorError as e:
                problem = str(e)
                if attempt + 1 < RETRIES:
                    await asyncio.sleep(wait)
                    wait *= 2
                continue
            self._sent(p, counts)
            return
        dropped = sum(counts.values())
        log.error(
            "influxdb_out: dropped %d point(s) for %s.%s after %d attempts: %s",
            dropped,
            db,
            rp,
            RETRIES,
            problem,
        )
        for plugin, n in counts.items():
            self.host.count_output(plugin, p, 0, n, f"influxdb_out dropped {n} point(s): {problem}")

    def _cluster(self, name: str) -> InfluxCluster:
        found = self.clusters.get(name)
        if found is None:
            found = self.clusters[name] = InfluxCluster(self.cfg.influxdb_cluster(name))
        return found

    async def _loopback(self, p: int, batches: list[tuple[str, PointBatch, str]]) -> None:
        # Each batch a POINTS message, as a write would store it (the matcher takes it from
        # there), named by the messages it came from: written again from the same messages
        # (a redelivery after a crash), it is stored once.
        stored = [
            Stored(subjects.POINTS_IN, encode_batch(b), f"lb.{subjects.token(plugin)}.{ident}")
            for plugin, b, ident in batches
        ]
        try:
            await self.bus.store_all(
                stored, stream=subjects.POINTS_STREAM, timeout=STORE_ACK_TIMEOUT_S
            )
        except KapacitorError as e:
            for plugin, b, _ in batches:
                self.host.count_output(plugin, p, 0, len(b), f"loopback: {e}")
            log.error("loopback: dropped %d batch(es): %s", len(batches), e)
            return
        for plugin, b, _ in batches:
            self.host.count_output(plugin, p, len(b))

    async def _publish(
        self, p: int, subject: str, batches: list[tuple[str, PointBatch, str]]
    ) -> None:
        body, counts = self._lines(p, "publish", batches)
        if not body:
            return
        try:
            await self.bus.publish(subject, body)
        except Exception as e:  # NATS failing: core NATS has no retry to wait for
            log.error("publish to %s failed: %s", subject, e)
            for plugin, n in counts.items():
                self.host.count_output(plugin, p, 0, n, f"publish to {subject}: {e}")
            return
        self._sent(p, counts)

    def _sent(self, p: int, counts: dict[str, int]) -> None:
        for plugin, n in counts.items():
            self.host.count_output(plugin, p, n)

    def _lines(
        self, p: int, what: str, batches: list[tuple[str, PointBatch, str]]
    ) -> tuple[bytes, dict[str, int]]:
        """The batches as line protocol and the points of each plugin in it; what cannot be
        written as line protocol (a NaN) is counted as dropped."""
        parts: list[bytes] = []
        counts: dict[str, int] = {}
        for plugin, b, _ in batches:
            try:
                parts.append(encode_batch_lines(b))
            except LineProtocolError as e:
                self.host.count_output(plugin, p, 0, len(b), f"{what}: {e}")
                continue
            counts[plugin] = counts.get(plugin, 0) + len(b)
        return b"".join(parts), counts

    async def serve_http_out(self, msg: Message) -> None:
        """Answer the API's question for one http_out() endpoint with what is held here."""
        try:
            asked = msgspec.json.decode(msg.data, type=HttpOutQuery)
        except msgspec.DecodeError:
            return
        await msg.respond(self.latest.answer(asked))

    async def close(self) -> None:
        for influx in self.clusters.values():
            await influx.close()
