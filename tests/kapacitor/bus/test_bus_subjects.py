from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kapacitor.bus import subjects


@given(st.text(min_size=1, max_size=40))
def test_token_round_trips_and_is_one_safe_subject_token(name: str) -> None:
    tok = subjects.token(name)
    assert subjects.untoken(tok) == name or "=" in name
    assert not any(c in tok for c in ". *>\t\r\n")


def test_plugin_subjects() -> None:
    assert subjects.matched_points(7, "cpu.alert") == "kapacitor.matched.7.cpu=2e=alert"
    assert subjects.plugin_from_subject(subjects.matched_points(7, "cpu.alert")) == "cpu.alert"
    # what a kapacitord from before partitions left in the MATCHED stream
    assert subjects.plugin_from_subject("kapacitor.plugin.cpu=2e=alert") == "cpu.alert"
    assert subjects.matched_msg_id(3, 9, 7, "cpu.alert") == "3-9.7.cpu=2e=alert"


def test_what_a_handler_reads() -> None:
    assert subjects.handler_events("cpu") == ("kapacitor.alerts.*.cpu",)
    assert subjects.handler_events("cpu", "p.1") == ("kapacitor.alerts.p=2e=1.cpu",)
    # the webhooks: every event of a plugin (with a topic or none), or of every plugin
    every = subjects.EVERY_TOPIC
    assert subjects.handler_events(every, "p") == ("kapacitor.alerts.p", "kapacitor.alerts.p.>")
    assert subjects.handler_events(every) == ("kapacitor.alerts.>",)
