"""The JSON document of an alert event, as written to the alert log and POSTed to webhooks."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import orjson

from kapacitor.engine import AlertEvent


def rfc3339(ns: int) -> str:
    dt = datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC)
    frac = ns % 1_000_000_000
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{frac:09d}Z".replace(".000000000Z", "Z")


def event_document(e: AlertEvent) -> dict[str, Any]:
    """Kapacitor's alert fields (id, message, time, duration, level, previousLevel) plus ours."""
    return {
        "id": e.id,
        "plugin": e.plugin,
        "instance": e.instance,
        "tags": dict(e.tags),
        "level": e.level,
        "previousLevel": e.previous_level,
        "value": e.value,
        "time": rfc3339(e.time),
        "time_ns": e.time,
        "duration": e.duration,
        "message": e.message,
    }


def event_id(e: AlertEvent) -> str:
    """The event's identity, the same whoever computes it: its alert, point time and change of
    level. A partition's new owner that recomputes an event its last owner sent gives it the
    same id, and the ALERTS stream stores it once (docs/cluster.md)."""
    key = f"{e.plugin}\0{e.instance}\0{e.id}\0{e.time}\0{e.previous_level}\0{e.level}".encode()
    return hashlib.blake2b(key, digest_size=16).hexdigest()


def event_json(e: AlertEvent) -> bytes:
    return orjson.dumps(event_document(e))


def decode_event(data: bytes) -> dict[str, Any]:
    """An alert document as read back from the ALERTS stream ({} for an empty message)."""
    doc = orjson.loads(data or b"{}")
    return doc if isinstance(doc, dict) else {}
