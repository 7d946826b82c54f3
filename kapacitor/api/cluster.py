"""The cluster as `kapacitor cluster` and GET /kapacitor/v1/cluster show it: every service
instance with its host, partitions, lag and last heartbeat. Values in, a document out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kapacitor.bus.cluster_store import MemberRecord

NS = 1_000_000_000
# A member whose last heartbeat is older than this many heartbeat intervals is shown as late:
# it has stopped answering, and its key expires at the lease TTL.
LATE_AFTER_BEATS = 2.5


def cluster_document(
    members: Sequence[MemberRecord],
    partitions: int,
    holders: Mapping[int, str],
    lag: Mapping[str, int],
    now_ns: int,
    heartbeat_s: float,
) -> dict[str, Any]:
    """`holders`: partition -> interpreter member; `lag`: member id -> messages waiting."""
    notifiers = {m.id for m in members if m.info.service == "notifier" and m.info.partitions}
    rows = []
    for m in sorted(members, key=lambda m: (m.info.service, m.info.host, m.id)):
        if m.info.service == "notifier":
            continue  # shown as a role of its interpreter
        age = max(0, now_ns - m.info.beat) if m.info.beat else None
        late = age is not None and age > LATE_AFTER_BEATS * heartbeat_s * NS
        rows.append(
            {
                "id": m.id,
                "service": m.info.service,
                "host": m.info.host,
                "started": m.info.started,
                "partitions": m.info.partitions,
                "lag": lag.get(m.id),
                "last_heartbeat_s": None if age is None else round(age / NS, 3),
                "state": "late" if late else "ok",
                "notifier": m.id in notifiers,
            }
        )
    return {
        "members": rows,
        "partitions": partitions,
        "unowned_partitions": sorted(set(range(partitions)) - set(holders)),
    }
