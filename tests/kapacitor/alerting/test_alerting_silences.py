"""Silences: what a new one accepts, when one is active, and which events it stamps."""

from __future__ import annotations

import pytest

from kapacitor.alerting.silences import ActiveSilences, Silence, new_silence
from kapacitor.errors import RequestError
from kapacitor.testing.events import cpu_event

H = 3600 * 10**9


def test_a_new_silence_is_checked() -> None:
    s = new_silence(" host = 'a' ", H, "swap", now_ns=10)
    assert (s.match, s.created, s.ends, len(s.id)) == ("host = 'a'", 10, 10 + H, 12)
    for args, what in [
        (("", H, ""), "needs a match"),
        (("host = ", H, ""), "silence match"),
        (("host = 'a'", 0, ""), "longer than 0"),
        (("host = 'a'", 400 * 24 * H, ""), "at most a year"),
        (("host = 'a'", H, "x" * 5000), "comment"),
    ]:
        with pytest.raises(RequestError, match=what):
            new_silence(*args, now_ns=0)  # type: ignore[arg-type]


def test_active_silences_stamp_what_they_match_while_they_last() -> None:
    active = ActiveSilences()
    events = [cpu_event("a"), cpu_event("b"), cpu_event("a", "OK", recoverable=False)]
    assert active.apply(events, 0) == events
    active.update(
        [
            Silence(id="s2", match="host = 'a'", created=0, ends=H),
            Silence(id="s1", match="level = 'CRITICAL'", created=0, ends=2 * H),
            Silence(id="s0", match="host = 'b'", created=5 * H, ends=6 * H),  # not yet
        ]
    )
    got = active.apply(events, 10)
    assert [e.suppressed for e in got] == ["silenced:s1", "silenced:s1", "no_recoveries"]
    later = active.apply(events, H + 1)  # s2 over, s1 still on
    assert [e.suppressed for e in later] == ["silenced:s1", "silenced:s1", "no_recoveries"]
    assert [e.suppressed for e in active.apply(events, 5 * H)] == [
        "",
        "silenced:s0",
        "no_recoveries",
    ]
