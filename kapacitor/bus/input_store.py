"""The inputs' counters on the bus: each UDP listener's (received, dropped, ...) and each
InfluxDB's subscription sync, written by the ingest service holding them and read by the API
(`kapacitor inputs`, /metrics). Keys expire when their writer stops refreshing them."""

from __future__ import annotations

import msgspec
from nats.js import JetStreamContext

from kapacitor.bus import subjects
from kapacitor.bus.ttl_kv import TtlKv

__all__ = ["INPUT_STATS_TTL_S", "InputStore", "SubscriptionStatus", "UdpStats"]

# A listener's or sync's counters outlive their last refresh by this long.
INPUT_STATS_TTL_S = 30


class UdpStats(msgspec.Struct):
    """One UDP listener: `[[udp]]`'s, or one opened for a udp subscription (`cluster`)."""

    listener: str  # the address it is bound to
    host: str
    db: str
    rp: str
    cluster: str = ""  # the [[influxdb]] whose subscription it serves, "" for [[udp]]
    received: int = 0  # datagrams
    dropped: int = 0  # datagrams refused because `buffer` of them were waiting
    points: int = 0  # points stored
    bad_lines: int = 0
    lost: int = 0  # datagrams parsed but not stored (the bus failed)
    last_error: str = ""


class SubscriptionStatus(msgspec.Struct):
    """One [[influxdb]]'s subscriptions as the last sync left them."""

    cluster: str
    name: str  # kapacitor-<cluster id>
    host: str  # where the syncing member runs
    protocol: str
    subscribed: list[str] = msgspec.field(default_factory=list)  # db.rp
    syncs: int = 0
    failures: int = 0
    created: int = 0
    dropped: int = 0
    last_sync_ns: int = 0  # wall clock of the last sync that completed
    last_error: str = ""
    doubles: list[str] = msgspec.field(default_factory=list)  # others sending to us


class InputStore:
    def __init__(self, kv: TtlKv) -> None:
        self.kv = kv

    @classmethod
    async def open(cls, js: JetStreamContext, replicas: int = 1) -> InputStore:
        return cls(await TtlKv.open(js, subjects.INPUTS_BUCKET, replicas))

    async def put_udp(self, member: str, stats: UdpStats) -> None:
        key = f"udp.{subjects.token(member)}.{subjects.token(stats.listener)}"
        await self.kv.put(key, msgspec.json.encode(stats), INPUT_STATS_TTL_S)

    async def put_subscriptions(self, status: SubscriptionStatus) -> None:
        key = f"subscriptions.{subjects.token(status.cluster)}"
        await self.kv.put(key, msgspec.json.encode(status), INPUT_STATS_TTL_S)

    async def read(self) -> tuple[list[UdpStats], list[SubscriptionStatus]]:
        udp: list[UdpStats] = []
        subs: list[SubscriptionStatus] = []
        async for change in self.kv.watch(">"):
            if change is None:
                break
            if change.value is None:
                continue
            try:
                if change.key.startswith("udp."):
                    udp.append(msgspec.json.decode(change.value, type=UdpStats))
                else:
                    subs.append(msgspec.json.decode(change.value, type=SubscriptionStatus))
            except msgspec.DecodeError:
                continue  # a key of a newer or older version: not shown
        udp.sort(key=lambda s: (s.host, s.listener))
        subs.sort(key=lambda s: s.cluster)
        return udp, subs
