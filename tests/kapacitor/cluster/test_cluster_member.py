"""Members of one service sharing partitions through a real nats-server, several in one event
loop, each on its own connection: an even split, take-over after a crash, a joiner's share, a
clean hand-over, and never two members owning one partition at the same instant."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import msgspec
import pytest
from nats.aio.client import Client

from kapacitor.bus.client import connect
from kapacitor.bus.subjects import LEASES_BUCKET, MEMBERS_BUCKET, member_key
from kapacitor.bus.ttl_kv import TtlKv
from kapacitor.clock import SystemClock
from kapacitor.cluster.member import Member, MemberInfo, OwnershipChange
from kapacitor.errors import ConfigError

P = 32
TTL = 2.0  # short, so that a crash is taken over quickly
HEARTBEAT = 0.5
SERVICE = "interpreter"


class Node:
    """One member on its own connection, as one process would be."""

    def __init__(self, member: Member, nc: Client) -> None:
        self.member = member
        self.nc = nc
        self.changes: list[OwnershipChange] = []

    async def kill(self) -> None:
        """As `kill -9`: its tasks stop, its connection drops, nothing is released."""
        await self.member.abandon()
        await self.nc.close()

    async def leave(self) -> None:
        await self.member.leave()
        await self.nc.close()


async def join(url: str, name: str) -> Node:
    nc = await connect(url, name)
    js = nc.jetstream(timeout=5)
    changes: list[OwnershipChange] = []
    member = Member(
        await TtlKv.open(js, MEMBERS_BUCKET),
        await TtlKv.open(js, LEASES_BUCKET),
        service=SERVICE,
        member_id=f"host-{name}:{1000 + len(name)}:1",  # ':' must survive as a key token
        host=f"host-{name}",
        partitions=P,
        lease_ttl=TTL,
        heartbeat=HEARTBEAT,
        clock=SystemClock(),
        on_change=changes.append,
    )
    await member.start()
    node = Node(member, nc)
    node.changes = changes
    return node


@asynccontextmanager
async def exclusive(nodes: list[Node]) -> AsyncIterator[list[str]]:
    """Sample every member's `owned()` every 50 ms while the block runs; yields the list of
    violations (a partition owned by two members at one instant), checked at the end."""
    violations: list[str] = []

    async def sample() -> None:
        while True:
            seen: dict[int, str] = {}
            for n in list(nodes):
                for p in n.member.owned():
                    if p in seen:
                        violations.append(f"partition {p}: {seen[p]} and {n.member.id}")
                    seen[p] = n.member.id
            await asyncio.sleep(0.05)

    task = asyncio.create_task(sample())
    try:
        yield violations
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert violations == []


async def until(ok: Callable[[], bool], timeout: float) -> float:
    """Seconds until `ok()` holds (polled every 20 ms); fails after `timeout`."""
    start = time.monotonic()
    while not ok():
        assert time.monotonic() - start < timeout, "not reached in time"
        await asyncio.sleep(0.02)
    return time.monotonic() - start


def split(nodes: list[Node]) -> list[int]:
    return sorted(len(n.member.owned()) for n in nodes)


def covers_all(nodes: list[Node]) -> bool:
    return set().union(*(n.member.owned() for n in nodes)) == set(range(P))


async def three(url: str) -> list[Node]:
    nodes = list(await asyncio.gather(*(join(url, n) for n in ("a", "b", "c"))))
    await until(lambda: split(nodes) == [10, 11, 11] and covers_all(nodes), 2.0)
    return nodes


async def test_three_members_split_evenly_and_report_it(nats_url: str) -> None:
    nodes: list[Node] = []
    async with exclusive(nodes):
        nodes += await asyncio.gather(*(join(nats_url, n) for n in ("a", "b", "c")))
        elapsed = await until(lambda: split(nodes) == [10, 11, 11] and covers_all(nodes), 2.0)
        print(f"even split {elapsed:.2f}s after start")
        for n in nodes:
            assert n.member.members() == {m.member.id for m in nodes}
            net: set[int] = set()
            for c in n.changes:
                net = (net | c.gained) - c.lost
            assert net == n.member.owned()
            assert all(n.member.revision(p) for p in n.member.owned())
        # The member key carries what the member owns (within a heartbeat).
        kv = await TtlKv.open(nodes[0].nc.jetstream(), MEMBERS_BUCKET)
        first = nodes[0].member
        await asyncio.sleep(HEARTBEAT + 0.2)
        entry = await kv.kv.get(member_key(SERVICE, first.id))
        info = msgspec.json.decode(entry.value or b"", type=MemberInfo)
        assert (info.host, info.service) == ("host-a", SERVICE)
        assert set(info.partitions) == first.owned()
        for n in nodes:
            await n.leave()


async def test_a_killed_members_partitions_are_taken_over(nats_url: str) -> None:
    nodes: list[Node] = []
    async with exclusive(nodes):
        nodes += await three(nats_url)
        victim = nodes[2]
        await victim.kill()
        survivors = nodes[:2]
        elapsed = await until(
            lambda: split(survivors) == [16, 16] and covers_all(survivors), TTL + 2
        )
        print(f"taken over {elapsed:.2f}s after the kill")
        assert victim.member.owned() == set()  # its own deadlines passed before the server's
        for n in survivors:
            await n.leave()


async def test_a_joining_member_gets_its_share(nats_url: str) -> None:
    nodes: list[Node] = []
    async with exclusive(nodes):
        nodes += await asyncio.gather(join(nats_url, "a"), join(nats_url, "b"))
        await until(lambda: split(nodes) == [16, 16] and covers_all(nodes), 2.0)
        nodes.append(await join(nats_url, "c"))
        elapsed = await until(lambda: split(nodes) == [10, 11, 11] and covers_all(nodes), 2.0)
        print(f"joiner has its share {elapsed:.2f}s after joining")
        for n in nodes:
            await n.leave()


async def test_a_clean_leave_hands_over_at_once(nats_url: str) -> None:
    nodes: list[Node] = []
    async with exclusive(nodes):
        nodes += await three(nats_url)
        leaver = nodes.pop()
        changes = leaver.member.changes()
        held = leaver.member.owned()
        started = time.monotonic()
        await leaver.leave()
        assert leaver.member.owned() == set()
        elapsed = await until(lambda: split(nodes) == [16, 16] and covers_all(nodes), 2.0)
        print(
            f"handed over {time.monotonic() - started:.2f}s after leave()"
            f" ({elapsed:.2f}s after it returned)"
        )
        # The member key is gone at once, not after its TTL.
        kv = await TtlKv.open(nodes[0].nc.jetstream(), MEMBERS_BUCKET)
        assert not (await kv.state(member_key(SERVICE, leaver.member.id))).live
        told = [c async for c in changes]  # ends: the member stopped
        assert set().union(*(c.lost for c in told)) == held
        assert [c async for c in leaver.member.changes()] == []
        for n in nodes:
            await n.leave()


def test_a_heartbeat_must_fit_in_the_ttl() -> None:
    with pytest.raises(ConfigError, match="heartbeat"):
        Member(
            None,  # type: ignore[arg-type]
            None,  # type: ignore[arg-type]
            service=SERVICE,
            member_id="x",
            host="h",
            partitions=P,
            lease_ttl=2,
            heartbeat=1.8,
            clock=SystemClock(),
        )
