"""Which member owns which partition: rendezvous (highest random weight) hashing with a load
cap, so that every member computes the same answer from the same member set, the split is
even (sizes differ by at most one) and a member leaving or joining moves few partitions.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def weight(member: str, partition: int) -> int:
    """The member's rank for a partition: a stable hash (not Python's salted `hash`), so every
    process ranks alike."""
    digest = hashlib.blake2b(f"{member}/{partition}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def assign(members: Iterable[str], partitions: int) -> dict[int, str]:
    """Partition -> member for partitions 0..partitions-1; empty when there is no member.

    Partitions are taken in order, each to its highest-ranked member that still has room.
    Room: floor(P/N) for every member, plus one for the first P mod N members to need it, so
    the split is exact (a plain cap of ceil(P/N) can starve the last member: P=4, N=3 could
    give 2, 2, 0)."""
    ids = sorted(set(members))
    if not ids:
        return {}
    base, extra = divmod(partitions, len(ids))
    load = dict.fromkeys(ids, 0)
    out: dict[int, str] = {}
    for p in range(partitions):
        for m in sorted(ids, key=lambda m: (weight(m, p), m), reverse=True):
            if load[m] < base or (load[m] == base and extra > 0):
                if load[m] == base:
                    extra -= 1
                load[m] += 1
                out[p] = m
                break
    return out


def assigned_to(member: str, members: Iterable[str], partitions: int) -> frozenset[int]:
    """The partitions `member` owns when `members` (which should include it) are alive."""
    return frozenset(p for p, m in assign(members, partitions).items() if m == member)
