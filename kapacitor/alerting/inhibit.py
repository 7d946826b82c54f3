"""Inhibition, as Kapacitor's `.inhibit(category, tags...)`: while an alert with
`inhibit="system"` is raised for an instance, the events of alerts with `category="system"`
whose tags equal that instance's on `inhibit_tags` are recorded but sent to no handler (a
host that is down need not also page for its disks and its CPU).

The two alerts may run in different plugins, partitions and hosts, so the raised inhibitors
are shared through JetStream KV: each interpreter writes, per plugin and partition it holds,
the inhibitors raised there (`encode_inhibitors`; only when they change, checked every second
and after each batch of events of a plugin that inhibits), and watches the bucket. An
interpreter storing an event of a category checks it against them (`ActiveInhibitors`) and
stamps it `suppressed = "inhibited:<category>"`. A change reaches the other interpreters
within about a second: an event in between is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import msgspec

from kapacitor.engine import AlertEvent
from kapacitor.errors import CodecError


class Inhibitor(msgspec.Struct, frozen=True):
    category: str
    tags: dict[str, str]  # the inhibiting instance's values of its inhibit_tags

    def holds(self, event: AlertEvent) -> bool:
        return event.category == self.category and all(
            event.tags.get(k) == v for k, v in self.tags.items()
        )


def encode_inhibitors(found: Sequence[Inhibitor]) -> bytes:
    return msgspec.json.encode(sorted(found, key=lambda i: (i.category, sorted(i.tags.items()))))


def decode_inhibitors(data: bytes) -> list[Inhibitor]:
    try:
        return msgspec.json.decode(data, type=list[Inhibitor])
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise CodecError(f"inhibitors cannot be read: {e}") from None


class ActiveInhibitors:
    """The inhibitors raised anywhere, by category."""

    def __init__(self) -> None:
        self._by_category: dict[str, list[Inhibitor]] = {}

    def update(self, by_key: Mapping[str, Iterable[Inhibitor]], live_plugins: set[str]) -> None:
        """From the bucket's values (keys `<plugin>.<partition>`), those of plugins that
        still run (a deleted plugin's inhibitors go with it)."""
        by_category: dict[str, list[Inhibitor]] = {}
        for key, found in by_key.items():
            if key.rsplit(".", 1)[0] not in live_plugins:
                continue
            for i in found:
                by_category.setdefault(i.category, []).append(i)
        self._by_category = by_category

    def apply(self, events: Sequence[AlertEvent]) -> list[AlertEvent]:
        """`events`, those an inhibitor holds back stamped `inhibited:<category>` (events
        already suppressed stay as they are)."""
        if not self._by_category or not any(e.category for e in events):
            return list(events)
        out = list(events)
        for k, e in enumerate(events):
            if e.suppressed or not e.category:
                continue
            if any(i.holds(e) for i in self._by_category.get(e.category, ())):
                out[k] = msgspec.structs.replace(e, suppressed=f"inhibited:{e.category}")
        return out
