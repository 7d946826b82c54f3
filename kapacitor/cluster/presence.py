"""Joining the cluster: every service process is a member of its service, heartbeating its
presence (what `kapacitor cluster` lists); interpreters and the notifier also own partitions."""

from __future__ import annotations

import os
import socket
from collections.abc import Awaitable, Callable

from nats.js import JetStreamContext

from kapacitor.bus import subjects
from kapacitor.bus.ttl_kv import TtlKv
from kapacitor.clock import Clock
from kapacitor.cluster.member import Member, OwnershipChange
from kapacitor.config import Config


def member_id(clock: Clock) -> str:
    """host:pid:start, unique per process start."""
    return f"{socket.gethostname()}:{os.getpid()}:{clock.now_ns()}"


async def join(
    js: JetStreamContext,
    cfg: Config,
    service: str,
    clock: Clock,
    *,
    partitions: int = 0,
    ident: str = "",
    on_change: Callable[[OwnershipChange], None] | None = None,
    before_release: Callable[[int], Awaitable[None]] | None = None,
    start: bool = True,
) -> Member:
    """A member of `service` (started unless `start` is false), owning a share of
    `partitions` (none: presence only)."""
    member = Member(
        await TtlKv.open(js, subjects.MEMBERS_BUCKET),
        await TtlKv.open(js, subjects.LEASES_BUCKET),
        service=service,
        member_id=ident or member_id(clock),
        host=socket.gethostname(),
        partitions=partitions,
        lease_ttl=cfg.cluster.lease_ttl.seconds,
        heartbeat=cfg.cluster.heartbeat.seconds,
        clock=clock,
        on_change=on_change,
        before_release=before_release,
    )
    if start:
        await member.start()
    return member
