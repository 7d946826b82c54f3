"""One instance of a service in the cluster: it heartbeats its membership, computes the
partitions assigned to it from the live members, claims them once free, renews them and
releases those no longer assigned to it; all in JetStream KV with per-key TTL and
compare-and-set, so the server decides every claim (docs/cluster.md).

Ownership is counted locally and conservatively: a lease ends, for its holder, at the send
time of its last successful claim or renewal plus the TTL minus a margin, earlier than the
server can expire it, so no two members ever act on one partition. `owned()` only lists
partitions whose deadline has not passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import msgspec

from kapacitor.bus.subjects import (
    member_key,
    members_of,
    partition_key,
    partitions_of,
    untoken,
)
from kapacitor.bus.ttl_kv import TtlKv, ttl_seconds
from kapacitor.clock import Clock
from kapacitor.cluster.assignment import assigned_to
from kapacitor.errors import BusError, ConfigError, RevisionMismatch
from kapacitor.tasks import cancel_and_wait

log = logging.getLogger(__name__)

NS = 1_000_000_000
# How long before the server can expire a lease its holder stops counting on it, at most:
# covers the time a renewal takes to reach the server and the loop's own lateness.
MAX_MARGIN = 0.5
START_TRIES = 10  # first heartbeats before a member gives up joining
# How often a member that misses partitions looks again, besides being woken by a change.
CLAIM_RETRY = 0.25
STOP_WAIT = 1.0  # seconds


class MemberInfo(msgspec.Struct, frozen=True):
    """The value of a member's key: what `kapacitor cluster` will show."""

    host: str
    service: str
    started: int  # wall-clock ns
    partitions: list[int]
    beat: int = 0  # wall-clock ns of this heartbeat


@dataclass(frozen=True, slots=True)
class OwnershipChange:
    gained: frozenset[int]
    lost: frozenset[int]


@dataclass(slots=True)
class _Lease:
    revision: int
    deadline_ns: int  # on the clock's monotonic time


class Member:
    """Start with `start()`; leave cleanly with `leave()`. `abandon()` stops it as a crash
    would (leases and membership left to expire), for tests."""

    def __init__(
        self,
        members: TtlKv,
        leases: TtlKv,
        *,
        service: str,
        member_id: str,
        host: str,
        partitions: int,
        lease_ttl: float,
        heartbeat: float,
        clock: Clock,
        on_change: Callable[[OwnershipChange], None] | None = None,
        before_release: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self.ttl = ttl_seconds(lease_ttl)
        self.margin = min(MAX_MARGIN, self.ttl / 4)
        if heartbeat <= 0 or heartbeat >= self.ttl - self.margin:
            raise ConfigError(
                f"cluster heartbeat {heartbeat}s must be shorter than lease-ttl {self.ttl}s"
                f" minus {self.margin}s"
            )
        self._members_kv = members
        self._leases_kv = leases
        self.service = service
        self.id = member_id
        self.host = host
        self.partitions = partitions
        self.heartbeat = heartbeat
        self.clock = clock
        self._on_change = on_change
        self._before_release = before_release
        self._started = clock.now_ns()
        self._members: set[str] = set()
        self._held: dict[int, _Lease] = {}
        self._wake = asyncio.Event()
        self._members_known = asyncio.Event()
        self._subscribers: list[asyncio.Queue[OwnershipChange | None]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._stopped = False

    # -- what the owner of partitions asks -------------------------------------------------

    def owned(self) -> frozenset[int]:
        """Partitions this member may act on now (their local deadline has not passed)."""
        now = self.clock.monotonic_ns()
        return frozenset(p for p, lease in self._held.items() if lease.deadline_ns > now)

    def members(self) -> frozenset[str]:
        """The live members of this service as last seen, this one included."""
        return frozenset(self._members | {self.id})

    def revision(self, partition: int) -> int | None:
        """The lease revision of an owned partition: a fencing token for what is saved under it."""
        lease = self._held.get(partition)
        if lease is None or lease.deadline_ns <= self.clock.monotonic_ns():
            return None
        return lease.revision

    def changes(self) -> AsyncIterator[OwnershipChange]:
        """Every ownership change from this call on, until the member stops."""
        queue: asyncio.Queue[OwnershipChange | None] = asyncio.Queue()
        if self._stopped:
            queue.put_nowait(None)
        else:
            self._subscribers.append(queue)
        return self._drain(queue)

    async def _drain(
        self, queue: asyncio.Queue[OwnershipChange | None]
    ) -> AsyncIterator[OwnershipChange]:
        while (change := await queue.get()) is not None:
            yield change

    # -- life cycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Join: the first heartbeat is written and the current members are known (or a
        heartbeat has passed) when this returns; partitions follow in the background. A bucket
        just created on a NATS cluster has no leader for a moment: the first heartbeat is tried
        again for up to START_TRIES heartbeats."""
        for attempt in range(1, START_TRIES + 1):
            try:
                await self._beat()
                break
            except BusError as e:
                if attempt == START_TRIES:
                    raise
                log.warning("member %s: joining failed, retrying: %s", self.id, e)
                await asyncio.sleep(self.heartbeat)
        self._tasks = [
            asyncio.create_task(self._watch_members()),
            asyncio.create_task(self._watch_leases()),
            asyncio.create_task(self._heartbeats()),
        ]
        # nats-py's watcher can miss the end-of-initial-values marker when keys change while
        # it starts: then go on after a heartbeat; the watch keeps the member set current.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._members_known.wait(), self.heartbeat)
        self._tasks.append(asyncio.create_task(self._run()))

    async def leave(self) -> None:
        """Leave cleanly: heartbeats stop first (a late one would re-create the member key
        after its deletion, and the others would hand partitions back until it expired), then
        every lease is released and the member key deleted."""
        await self._stop_tasks()
        for p in sorted(self._held):
            await self._release(p)
        with contextlib.suppress(BusError):
            await self._members_kv.delete(member_key(self.service, self.id))
        self._close_subscribers()

    async def abandon(self) -> None:
        """Stop as a crashed process would: nothing released, nothing deleted."""
        await self._stop_tasks()
        self._close_subscribers()

    async def _stop_tasks(self) -> None:
        # Bounded: stopping a watcher waits on the server, which a dead connection never answers.
        await cancel_and_wait(*self._tasks, timeout=STOP_WAIT)
        self._tasks = []

    def _close_subscribers(self) -> None:
        self._stopped = True
        for q in self._subscribers:
            q.put_nowait(None)
        self._subscribers.clear()

    # -- background tasks ------------------------------------------------------------------

    async def _beat(self) -> None:
        info = MemberInfo(
            self.host, self.service, self._started, sorted(self.owned()), self.clock.now_ns()
        )
        await self._members_kv.put(
            member_key(self.service, self.id), msgspec.json.encode(info), self.ttl
        )

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat)
            try:
                await self._beat()
            except BusError as e:
                log.warning("member %s: heartbeat failed: %s", self.id, e)

    async def _watch_members(self) -> None:
        async for change in self._members_kv.watch(members_of(self.service)):
            if change is None:
                self._members_known.set()
                continue
            mid = untoken(change.key.rsplit(".", 1)[-1])
            if change.value is None:
                self._members.discard(mid)
            else:
                self._members.add(mid)
            self._wake.set()

    async def _watch_leases(self) -> None:
        async for change in self._leases_kv.watch(partitions_of(self.service)):
            if change is not None and change.value is None:
                self._wake.set()  # a partition came free: it may be ours to claim

    async def _run(self) -> None:
        next_renewal = 0
        while True:
            self._wake.clear()
            self._fence()
            want = assigned_to(self.id, self.members(), self.partitions)
            for p in sorted(set(self._held) - want):
                await self._release(p)
            if self._held and self.clock.monotonic_ns() >= next_renewal:
                next_renewal = self.clock.monotonic_ns() + int(self.heartbeat * NS)
                await self._renew_all()
            missing = sorted(want - set(self._held))
            if missing:
                await self._claim(missing)
            wait = CLAIM_RETRY if want - set(self._held) else self.heartbeat / 2
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    # -- leases ----------------------------------------------------------------------------

    def _changed(self, gained: set[int], lost: set[int]) -> None:
        if not gained and not lost:
            return
        change = OwnershipChange(frozenset(gained), frozenset(lost))
        log.info("member %s: gained %s lost %s", self.id, sorted(gained), sorted(lost))
        if self._on_change is not None:
            self._on_change(change)
        for q in self._subscribers:
            q.put_nowait(change)

    def _fence(self) -> None:
        """Drop the leases whose deadline passed (renewals failed): they may be someone
        else's by now."""
        now = self.clock.monotonic_ns()
        gone = {p for p, lease in self._held.items() if lease.deadline_ns <= now}
        for p in gone:
            del self._held[p]
        self._changed(set(), gone)

    def _deadline(self, sent_ns: int) -> int:
        return sent_ns + int((self.ttl - self.margin) * NS)

    def _value(self) -> bytes:
        return self.id.encode()

    async def _renew_all(self) -> None:
        results = await asyncio.gather(*(self._renew(p) for p in sorted(self._held)))
        self._changed(set(), {p for p in results if p is not None})

    async def _renew(self, p: int) -> int | None:
        """Renew one lease; the partition when it is lost."""
        lease = self._held[p]
        sent = self.clock.monotonic_ns()
        try:
            revision = await self._leases_kv.compare_and_set(
                partition_key(self.service, p),
                self._value(),
                lease.revision,
                self.ttl,
                timeout=self.ttl,
            )
        except RevisionMismatch:
            self._held.pop(p, None)
            return p
        except BusError as e:  # outcome unknown: the deadline fences us if this goes on
            log.warning("member %s: renewing partition %d failed: %s", self.id, p, e)
            return None
        if p in self._held:
            self._held[p] = _Lease(revision, self._deadline(sent))
        return None

    async def _claim(self, partitions: list[int]) -> None:
        results = await asyncio.gather(*(self._claim_one(p) for p in partitions))
        self._changed({p for p in results if p is not None}, set())

    async def _claim_one(self, p: int) -> int | None:
        """Claim one partition if it is free; the partition when it is now ours."""
        key = partition_key(self.service, p)
        try:
            # Within a TTL: an answer later is no use, and NATS electing the bucket's leader
            # would otherwise hold up the next attempt for the whole request timeout.
            state = await self._leases_kv.state(key, timeout=self.ttl)
            if state.live:
                return None
            sent = self.clock.monotonic_ns()
            revision = await self._leases_kv.compare_and_set(
                key, self._value(), state.revision, self.ttl, timeout=self.ttl
            )
        except RevisionMismatch:  # another member was faster
            return None
        except BusError as e:
            log.warning("member %s: claiming partition %d failed: %s", self.id, p, e)
            return None
        self._held[p] = _Lease(revision, self._deadline(sent))
        return p

    async def _release(self, p: int) -> None:
        """Let the owner wind the partition up (`before_release`, while the lease lasts), stop
        counting on it, then free it for its next owner."""
        if self._before_release is not None:
            # Bounded by the lease, and by half a TTL: no lease is renewed meanwhile.
            left = (self._held[p].deadline_ns - self.clock.monotonic_ns()) / NS
            try:
                await asyncio.wait_for(self._before_release(p), max(0.0, min(left, self.ttl / 2)))
            except TimeoutError:
                log.warning("member %s: partition %d not wound up in time", self.id, p)
            except Exception:  # the owner's failure must not keep the partition from moving
                log.exception("member %s: winding up partition %d failed", self.id, p)
        lease = self._held.pop(p)
        self._changed(set(), {p})
        with contextlib.suppress(BusError):  # RevisionMismatch included: it is gone anyway
            await self._leases_kv.delete(partition_key(self.service, p), last=lease.revision)
