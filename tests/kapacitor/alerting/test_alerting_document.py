"""Alert documents on the ALERTS stream: events grouped one message per matched batch, with
their ids, and read back one by one (kapacitor/alerting/document.py)."""

from __future__ import annotations

import orjson
import pytest

from kapacitor.alerting.document import (
    decode_events,
    event_id,
    event_json,
    events_message,
    split_events,
)
from kapacitor.engine import AlertEvent
from kapacitor.errors import CodecError


def event(level: str, time: int, previous: str = "OK") -> AlertEvent:
    return AlertEvent(
        id="p:cpu,host=a", plugin="p", instance="cpu,host=a", tags={"host": "a"}, level=level,
        previous_level=previous, value=1.5, time=time, message="m\nwith a newline", duration=0,
    )  # fmt: skip


def test_a_message_of_events_splits_back_into_them_with_their_ids() -> None:
    events = [event("CRITICAL", 1), event("OK", 1, "CRITICAL"), event("CRITICAL", 1)]
    data, ids = events_message(events, "ev.7.p")
    assert split_events(data, ids) == [(f"ev.7.p.{k}", event_json(e)) for k, e in enumerate(events)]
    assert [d["level"] for d in decode_events(data)] == ["CRITICAL", "OK", "CRITICAL"]
    assert decode_events(data)[0]["message"] == "m\nwith a newline"  # escaped in JSON


def test_a_message_from_before_grouping_is_one_event_without_an_id() -> None:
    doc = event_json(event("CRITICAL", 1))
    assert split_events(doc, "") == [("", doc)]
    assert decode_events(doc) == [orjson.loads(doc)]
    assert decode_events(b"") == []


def test_event_ids_tell_changes_apart_and_are_stable() -> None:
    a, b = event("CRITICAL", 1), event("OK", 1, "CRITICAL")
    assert event_id(a) == event_id(event("CRITICAL", 1)) != event_id(b)
    assert len(event_id(a)) == 32


def test_a_large_message_of_events_is_compressed_and_reads_back_the_same() -> None:
    events = [event("CRITICAL" if k % 2 else "OK", k) for k in range(40)]
    data, ids = events_message(events, "ev.9.p")
    plain = b"\n".join(map(event_json, events))
    assert data[:1] == b"\xc1" and len(data) * 4 < len(plain)
    assert split_events(data, ids) == [(f"ev.9.p.{k}", event_json(e)) for k, e in enumerate(events)]
    assert decode_events(data) == [orjson.loads(d) for d in plain.split(b"\n")]
    assert split_events(plain, ids) == split_events(data, ids)  # as an earlier release wrote it


def test_an_unreadable_compressed_message_is_refused_with_a_reason() -> None:
    with pytest.raises(CodecError, match="undecodable alert events"):
        split_events(b"\xc1not zlib", "")
    with pytest.raises(CodecError, match="undecodable alert events"):
        decode_events(b"\xc1not zlib")
