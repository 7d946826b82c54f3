"""Topic handler definitions: checked once, every problem naming its field."""

from __future__ import annotations

from typing import Any

import pytest

from kapacitor.alerting.kinds.post import PostOptions
from kapacitor.alerting.topic_handlers import check_handler, decode_handler, encode_handler
from kapacitor.errors import RequestError

POST = {"id": "ops", "topic": "cpu", "kind": "post", "options": {"url": "http://h/x"}}


def test_a_valid_definition_round_trips() -> None:
    spec = check_handler(dict(POST, match="level = 'CRITICAL'"))
    assert decode_handler(encode_handler(spec)) == spec
    assert spec.parsed_options() == PostOptions(url="http://h/x")


def test_topic_and_id_from_the_url_fill_in_or_must_agree() -> None:
    spec = check_handler({"id": "ops", "kind": "log", "options": {"path": "/x"}}, topic="cpu")
    assert spec.topic == "cpu"
    with pytest.raises(RequestError, match="topic 'cpu' differs from 'mem'"):
        check_handler(POST, topic="mem")
    with pytest.raises(RequestError, match="id 'ops' differs from 'other'"):
        check_handler(POST, handler_id="other")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "pst"}, "unknown kind 'pst' \\(did you mean \"post\"\\?\\)"),
        ({"options": {"url": "http://h/x", "ur": 1}}, "unknown field `ur`"),
        ({"options": {}}, "missing required field `url`"),
        ({"options": {"url": 5}}, "Expected `str`, got `int` - at `options.url`"),
        ({"options": {"url": "ftp://h"}}, "url must be an http:// or https:// URL"),
        ({"options": {"url": "http://h", "timeout": "0s"}}, "timeout must be longer than 0"),
        ({"options": {"url": "http://h", "retries": -1}}, "retries must be 0 to 100"),
        ({"match": "level = "}, "match 1:8: expected a value after '='"),
        ({"id": "a b"}, "handler name 'a b' may hold only letters"),
        ({"topic": ""}, "a topic needs a name"),
        ({"extra": 1}, "unknown field `extra`"),
    ],
)
def test_problems_name_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(RequestError, match=message):
        check_handler(POST | change)


@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        ("log", {"path": "relative.log"}, "path must be absolute"),
        ("tcp", {"address": "nohost"}, "address must be host:port"),
        ("tcp", {"address": "h:99999"}, "address must be host:port"),
        ("exec", {"prog": ""}, "prog must name a program"),
    ],
)
def test_kind_options_are_checked(kind: str, options: dict[str, Any], message: str) -> None:
    with pytest.raises(RequestError, match=message):
        check_handler({"id": "h", "topic": "t", "kind": kind, "options": options})


def test_not_a_mapping() -> None:
    with pytest.raises(RequestError, match="expected a mapping"):
        check_handler(["id", "ops"])
