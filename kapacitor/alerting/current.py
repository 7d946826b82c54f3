"""`kapacitor alerts`: the alerts not OK now, asked of every interpreter.

The interpreters hold every instance's alert level in memory (and in their saved state), so
the current state is asked for, not kept on the side: nothing is written per event. Each
interpreter answers a request on `subjects.ALERTS_QUERY` with the alerts of the partitions it
holds (`encode_raised`); the API gathers the answers of every interpreter the cluster lists
and merges them (`merge_raised`), saying when one did not answer.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from kapacitor.engine.alert import LEVELS
from kapacitor.engine.events import RaisedAlert
from kapacitor.errors import CodecError


class RaisedReply(msgspec.Struct, frozen=True):
    member: str
    alerts: list[RaisedAlert]


def encode_raised(member: str, alerts: list[RaisedAlert]) -> bytes:
    return msgspec.json.encode(RaisedReply(member, alerts))


def decode_raised(data: bytes) -> RaisedReply:
    try:
        return msgspec.json.decode(data, type=RaisedReply)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise CodecError(f"an interpreter's alerts cannot be read: {e}") from None


def merge_raised(
    replies: Iterable[RaisedReply], *, plugin: str = "", topic: str = "", level: str = ""
) -> list[RaisedAlert]:
    """Every alert once (a partition handed over while asked may be in two answers), of
    `plugin`, `topic` and `level` when given; the highest level first, then the oldest."""
    seen: dict[tuple[str, str], RaisedAlert] = {}
    for reply in replies:
        for a in reply.alerts:
            if (plugin and a.plugin != plugin) or (topic and a.topic != topic):
                continue
            if level and a.level != level.upper():
                continue
            seen[(a.plugin, a.id)] = a
    return sorted(seen.values(), key=lambda a: (-LEVELS.index(a.level), a.since, a.plugin, a.id))
