"""What the cluster looks like, read from the bus: the live members of every service (their
heartbeat keys), who holds which partition lease, and how many messages wait for each
consumer (docs/cluster.md)."""

from __future__ import annotations

import uuid

import msgspec
from nats.js import JetStreamContext
from nats.js.errors import KeyWrongLastSequenceError, NotFoundError

from kapacitor.bus import subjects
from kapacitor.bus.ttl_kv import TtlKv
from kapacitor.cluster.member import MemberInfo


class MemberRecord(msgspec.Struct, frozen=True):
    """A member as its heartbeat key holds it."""

    id: str
    info: MemberInfo


class ClusterStore:
    def __init__(self, js: JetStreamContext, members: TtlKv, leases: TtlKv) -> None:
        self.js = js
        self.members_kv = members
        self.leases_kv = leases

    @classmethod
    async def open(cls, js: JetStreamContext) -> ClusterStore:
        return cls(
            js,
            await TtlKv.open(js, subjects.MEMBERS_BUCKET),
            await TtlKv.open(js, subjects.LEASES_BUCKET),
        )

    async def members(self) -> list[MemberRecord]:
        out = []
        async for change in self.members_kv.watch("member.>"):
            if change is None:
                break
            if change.value is None:
                continue
            try:
                info = msgspec.json.decode(change.value, type=MemberInfo)
            except msgspec.DecodeError:
                continue
            out.append(MemberRecord(subjects.untoken(change.key.rsplit(".", 1)[-1]), info))
        return out

    async def lease_holders(self, service: str) -> dict[int, str]:
        """partition -> the member holding its lease."""
        out = {}
        async for change in self.leases_kv.watch(subjects.partitions_of(service)):
            if change is None:
                break
            if change.value is not None:
                out[int(change.key.rsplit(".", 1)[-1])] = change.value.decode()
        return out

    async def pending(self, stream: str, durable: str) -> int | None:
        """Messages the consumer has not delivered yet (None: no such consumer)."""
        try:
            info = await self.js.consumer_info(stream, durable)
        except NotFoundError:
            return None
        return int(info.num_pending or 0)


async def cluster_id(js: JetStreamContext) -> str:
    """The deployment's id: made by the first service that asks, the same for all after."""
    kv = await js.key_value(subjects.CLUSTER_BUCKET)
    try:
        await kv.create("id", uuid.uuid4().hex.encode())
    except KeyWrongLastSequenceError:
        pass  # another made it first
    entry = await kv.get("id")
    return (entry.value or b"").decode()
