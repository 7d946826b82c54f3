"""Inhibition: which events a raised inhibitor holds back, and whose inhibitors count (the
inhibitors a runtime reports: tests/kapacitor/engine/test_engine_alert_options.py)."""

from __future__ import annotations

from kapacitor.alerting.inhibit import (
    ActiveInhibitors,
    Inhibitor,
    decode_inhibitors,
    encode_inhibitors,
)
from kapacitor.testing.events import cpu_event


def test_raised_inhibitors_hold_back_their_category_where_tags_match() -> None:
    active = ActiveInhibitors()
    events = [
        cpu_event("a", category="system"),
        cpu_event("b", category="system"),
        cpu_event("a", category="disk"),
        cpu_event("a", category=""),
    ]
    assert active.apply(events) == events
    raised = {
        "up.0": [Inhibitor("system", {"host": "a"})],
        "gone.3": [Inhibitor("disk", {})],  # a plugin that no longer inhibits
    }
    active.update(raised, live_plugins={"up"})
    assert [e.suppressed for e in active.apply(events)] == ["inhibited:system", "", "", ""]
    active.update(raised, live_plugins={"up", "gone"})
    assert [e.suppressed for e in active.apply(events)] == [
        "inhibited:system",
        "",
        "inhibited:disk",
        "",
    ]
    assert decode_inhibitors(encode_inhibitors(raised["up.0"])) == raised["up.0"]
