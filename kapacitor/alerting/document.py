"""The JSON document of an alert event, as written to the alert log and POSTed to webhooks."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from kapacitor.compression import packed, unpacked
from kapacitor.engine import AlertEvent
from kapacitor.errors import CodecError


@functools.lru_cache(maxsize=4096)
def _second(s: int) -> str:
    # Events come in bursts at the same few seconds: formatting each second once is most of
    # the cost of an event document.
    return datetime.fromtimestamp(s, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")


def rfc3339(ns: int) -> str:
    s, frac = divmod(ns, 1_000_000_000)
    return f"{_second(s)}.{frac:09d}Z" if frac else f"{_second(s)}Z"


def rfc3339_nanos(ns: int) -> str:
    """RFC 3339 with all nine fractional digits (PagerDuty's timestamps, as Kapacitor sends
    them)."""
    s, frac = divmod(ns, 1_000_000_000)
    return f"{_second(s)}.{frac:09d}Z"


def event_document(e: AlertEvent) -> dict[str, Any]:
    """Kapacitor's alert fields (id, message, time, duration, level, previousLevel) plus ours
    (docs/alerts.md)."""
    return {
        "id": e.id,
        "plugin": e.plugin,
        "instance": e.instance,
        "tags": e.tags,  # the event's own copy (build_event), never changed
        "level": e.level,
        "previousLevel": e.previous_level,
        "value": e.value,
        "time": rfc3339(e.time),
        "time_ns": e.time,
        "duration": e.duration,
        "message": e.message,
        "details": e.details,
        "topic": e.topic or None,
        "category": e.category or None,
        "recoverable": e.recoverable,
        "expired": e.expired,
        "suppressed": e.suppressed or None,
    }


def is_suppressed(doc: bytes) -> bool:
    """Whether an event document is recorded only, not sent (silenced, inhibited, a recovery
    of an alert with no_recoveries), read from its last key, which event_document writes last
    (a reason holds no quote), so the notifier need not decode every event of a storm."""
    _, key, tail = doc.rpartition(b'"suppressed":')
    return bool(key) and tail.startswith(b'"') and tail.count(b'"') == 2 and tail.endswith(b'"}')


def event_id(e: AlertEvent) -> str:
    """The name of an event that no point caused (a deadman check): its alert, how many
    times the alert changed level before, and the change, the same whoever computes it from
    the same saved state (its time, a check of the wall clock, is not)."""
    key = f"{e.plugin}\0{e.instance}\0{e.id}\0{e.change}\0{e.previous_level}\0{e.level}".encode()
    return hashlib.blake2b(key, digest_size=16).hexdigest()


def event_json(e: AlertEvent) -> bytes:
    return orjson.dumps(event_document(e))


def events_message(events: Sequence[AlertEvent], message_id: str) -> tuple[bytes, str]:
    """Events as one ALERTS message named `message_id`: their documents one per line, and
    their ids (`<message_id>.<k>`, k counting from 0), comma separated for the H_EVENT_IDS
    header. An event is named by its place in what caused it, not by its fields alone: one
    instance can change level, back and forth, several times at one point time."""
    ids = ",".join(f"{message_id}.{k}" for k in range(len(events)))
    return packed(b"\n".join(map(event_json, events))), ids


def split_events(data: bytes, ids: str) -> list[tuple[str, bytes]]:
    """(event id, document) of each event of an ALERTS message (a message from before events
    were grouped holds one document and no ids)."""
    docs = [line for line in unpacked(data, "alert events").split(b"\n") if line]
    found = ids.split(",") if ids else []
    return list(zip(found + [""] * (len(docs) - len(found)), docs, strict=False))


def read_events(data: bytes, ids: str) -> list[tuple[str, bytes, dict[str, Any]]]:
    """(event id, document, the document decoded) of each event of an ALERTS message;
    CodecError when the message or a document cannot be read."""
    out = []
    for event_id, doc in split_events(data, ids):
        try:
            decoded = orjson.loads(doc)
        except orjson.JSONDecodeError as e:
            raise CodecError(f"alert event {event_id or '?'} is not JSON: {e}") from None
        out.append((event_id, doc, decoded))
    return out


def decode_events(data: bytes) -> list[dict[str, Any]]:
    """The alert documents of an ALERTS message (none for an empty one)."""
    out = []
    for line in unpacked(data, "alert events").split(b"\n"):
        if line.strip():
            doc = orjson.loads(line)
            if isinstance(doc, dict):
                out.append(doc)
    return out
