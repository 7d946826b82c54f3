"""The interpreter's side of inhibition (kapacitor.alerting.inhibit): it writes the
inhibitors raised in the partitions it holds and applies everyone's to the events it stores.

Nothing runs, and the bucket is not even opened, until some plugin inhibits: most
deployments never do, and a watcher and a bucket cost memory in every interpreter and in
nats-server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Sequence

from nats.js import JetStreamContext
from nats.js.kv import KeyValue

from kapacitor.alerting.inhibit import (
    ActiveInhibitors,
    Inhibitor,
    decode_inhibitors,
    encode_inhibitors,
)
from kapacitor.bus import subjects
from kapacitor.bus.calls import on_bus
from kapacitor.bus.client import kv_bucket, watch_bucket
from kapacitor.engine import AlertEvent
from kapacitor.errors import BusError
from kapacitor.host import PluginHost
from kapacitor.tasks import cancel_and_wait

log = logging.getLogger("kapacitor.inhibit")


class Inhibitors:
    def __init__(self, js: JetStreamContext, host: PluginHost, replicas: int = 1) -> None:
        self.js = js
        self.host = host
        self.replicas = replicas
        self.active = ActiveInhibitors()
        self._raised: dict[str, list[Inhibitor]] = {}  # the bucket, by key
        self._written: dict[str, bytes] = {}
        self._kv: KeyValue | None = None
        self._watch: asyncio.Task[None] | None = None

    async def follow_definitions(self) -> None:
        """After the plugins changed: watch the bucket once some plugin inhibits, and apply
        only the inhibitors of plugins that still do."""
        if self.host.inhibiting() and self._watch is None:
            self._kv = await kv_bucket(self.js, subjects.INHIBITORS_BUCKET, self.replicas)
            self._watch = asyncio.create_task(
                watch_bucket(self._kv, str, decode_inhibitors, self._on_change, "inhibitors")
            )
        self._refresh()

    async def _on_change(self, raised: dict[str, list[Inhibitor]]) -> None:
        self._raised = raised
        self._refresh()

    def _refresh(self) -> None:
        live = {subjects.token(name) for name in self.host.inhibiting()}
        self.active.update(self._raised, live)

    def apply(self, events: Sequence[AlertEvent]) -> list[AlertEvent]:
        return self.active.apply(events)

    async def publish(self, owned: Collection[int]) -> None:
        """Write the inhibitors raised in each partition of `owned` that changed since last
        written; a failed write is tried again next time."""
        if self._kv is None:
            return
        written = self._written
        for key in [k for k in written if int(k.rsplit(".", 1)[1]) not in owned]:
            del written[key]  # another owner writes it now; if it comes back, write afresh
        for (plugin, p), found in self.host.inhibitors().items():
            if p not in owned:
                continue
            key = subjects.inhibitors_key(plugin, p)
            encoded = encode_inhibitors([Inhibitor(c, tags) for c, tags in found])
            if written.get(key) == encoded:
                continue
            try:
                await on_bus(self._kv.put(key, encoded), "storing inhibitors")
            except BusError as e:
                log.warning("inhibitors of %s/%d not stored yet: %s", plugin, p, e)
                continue
            written[key] = encoded

    async def close(self) -> None:
        await cancel_and_wait(self._watch)
