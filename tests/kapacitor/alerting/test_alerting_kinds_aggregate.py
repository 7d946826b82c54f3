"""The aggregate kind: what an interval's events sum up to, and what its options accept (the
worker that runs it: tests/e2e/test_topics.py)."""

from __future__ import annotations

import pytest

from kapacitor.alerting.kinds.aggregate import MAX_DETAILS, AggregateOptions, Aggregation
from kapacitor.alerting.topic_handlers import check_handler
from kapacitor.errors import RequestError


def doc(level: str, t: int, duration: int, message: str) -> dict[str, object]:
    return {"level": level, "time_ns": t, "duration": duration, "message": message}


def test_an_interval_sums_up_to_one_event() -> None:
    summed = Aggregation()
    for d in [doc("WARNING", 5, 10, "a"), doc("CRITICAL", 3, 40, "b"), doc("OK", 9, 0, "c")]:
        summed.add(d)
    options = AggregateOptions(interval="1m", topic="digest")
    e = summed.event(options, "cpu", "agg")
    assert (e.id, e.plugin, e.topic, e.level, e.time, e.duration, e.value) == (
        "cpu/agg",
        "aggregate",
        "digest",
        "CRITICAL",
        9,
        40,
        3.0,
    )
    assert (e.message, e.details) == ("Received 3 events in the last 1m.", "a\nb\nc")
    custom = AggregateOptions(interval="10s", topic="d", id="x", message="{count} in {interval}")
    assert (summed.event(custom, "cpu", "agg").id, summed.event(custom, "cpu", "agg").message) == (
        "x",
        "3 in 10s",
    )


def test_a_storm_is_counted_not_held() -> None:
    summed = Aggregation()
    for i in range(MAX_DETAILS + 50):
        summed.add(doc("CRITICAL", i, 0, f"m{i}"))
    details = summed.event(AggregateOptions(interval="1s", topic="d"), "t", "h").details
    assert details.splitlines()[-1] == "... and 50 more"
    assert len(details.splitlines()) == MAX_DETAILS + 1


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"topic": "digest"}, "interval"),
        ({"interval": "0s", "topic": "digest"}, "interval must be longer than 0"),
        ({"interval": "1m", "topic": "a b"}, "topic name 'a b'"),
        ({"interval": "1m", "topic": "cpu"}, "the handler's own"),
        ({"interval": "1m", "topic": "d", "message": "{count"}, "is not a template"),
    ],
)
def test_bad_aggregate_options_are_refused(options: dict[str, object], problem: str) -> None:
    with pytest.raises(RequestError, match=problem):
        check_handler({"id": "agg", "topic": "cpu", "kind": "aggregate", "options": options})
