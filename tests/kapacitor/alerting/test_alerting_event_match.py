"""A handler's match: the where-clause language over event documents, against a reference
evaluator for the comparisons users write most (level, changed, tags)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kapacitor.alerting.event_match import EventMatch
from kapacitor.errors import DslError

LEVELS = ("OK", "INFO", "WARNING", "CRITICAL")


def doc(level: str, previous: str = "OK", value: float = 1.0, **tags: str) -> dict[str, Any]:
    return {
        "id": "p:cpu",
        "plugin": "p",
        "topic": "cpu",
        "tags": tags,
        "level": level,
        "previousLevel": previous,
        "value": value,
        "duration": 5,
        "message": f"now {level}",
    }


def test_fields_tags_and_logic() -> None:
    docs = [
        doc("CRITICAL", host="web1"),
        doc("OK", "CRITICAL", host="web1"),
        doc("CRITICAL", host="db1"),
        doc("WARNING", "CRITICAL", value=50, host="web2"),
    ]
    cases = {
        "": [True, True, True, True],
        "level = 'CRITICAL'": [True, False, True, False],
        "level != 'OK' and host =~ /^web/": [True, False, False, True],
        "previous_level = 'CRITICAL'": [False, True, False, True],
        "changed = true": [True, True, True, True],
        "value >= 50 or message =~ /OK/": [False, True, False, True],
        "plugin = 'p' and topic = 'cpu' and duration = 5": [True] * 4,
        "not (level = 'OK')": [True, False, True, True],
        "missing = ''": [True] * 4,
    }
    for text, want in cases.items():
        assert EventMatch(text).matches(docs) == want, text


def test_a_tag_named_like_a_field_wins_and_field_casts_reach_the_event() -> None:
    docs = [doc("CRITICAL") | {"tags": {"level": "low"}}]
    assert EventMatch("level = 'low'").matches(docs) == [True]
    assert EventMatch("\"level\"::field = 'CRITICAL'").matches(docs) == [True]


def test_an_unchanged_level_is_not_changed() -> None:
    assert EventMatch("changed = false").matches([doc("CRITICAL", "CRITICAL")]) == [True]


def test_errors_carry_their_position() -> None:
    with pytest.raises(DslError, match="1:8"):
        EventMatch("level = ")


@given(
    st.lists(
        st.tuples(st.sampled_from(LEVELS), st.sampled_from(LEVELS), st.sampled_from("abc")),
        max_size=30,
    ),
    st.sampled_from(LEVELS),
    st.sampled_from("abc"),
)
def test_matches_like_a_plain_evaluation(
    events: list[tuple[str, str, str]], level: str, host: str
) -> None:
    docs = [doc(lv, prev, host=h) for lv, prev, h in events]
    got = EventMatch(f"level = '{level}' and (host = '{host}' or changed = false)").matches(docs)
    assert got == [lv == level and (h == host or lv == prev) for lv, prev, h in events]
