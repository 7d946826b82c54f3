"""Topic handler definitions: what `kapacitor define-topic-handler handler.yaml` sends and the
notifier runs, checked once when defined (docs/alerts.md).

    id: ops-pager
    topic: cpu
    kind: post
    match: level = 'CRITICAL' or changed = true and level = 'OK'
    options:
      url: https://hooks.example.com/alert
      headers: {Authorization: "Bearer ..."}

Every problem names the field it is about (`options.url: ...`, `match 1:9: ...`).
"""

from __future__ import annotations

import difflib
from typing import Any

import msgspec

from kapacitor.alerting.event_match import EventMatch
from kapacitor.alerting.kinds.base import Options
from kapacitor.alerting.names import name_problem
from kapacitor.bus.subjects import EVERY_TOPIC
from kapacitor.errors import DslError, RequestError


class TopicHandler(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    topic: str
    kind: str
    match: str = ""
    options: dict[str, Any] = msgspec.field(default_factory=dict)
    # Set on a handler a plugin attaches (its script's notify=, kapacitor.alerting.
    # script_handlers, or its --webhook): it reads only that plugin's events of its topic and
    # changes only with the plugin.
    plugin: str = ""

    @property
    def owner(self) -> str:
        """Who defines this handler when it is not defined by hand ("" when it is)."""
        if self.topic == EVERY_TOPIC:  # kapacitor.alerting.webhooks
            return f"plugin {self.plugin!r}'s --webhook" if self.plugin else "the server's config"
        return f"plugin {self.plugin!r}'s script (notify=)" if self.plugin else ""

    def parsed_options(self) -> Options:
        """The options as the kind's struct (they were checked when the handler was defined)."""
        from kapacitor.alerting.kinds.registry import KINDS  # see registry's docstring

        return msgspec.convert(self.options, KINDS[self.kind].options)


class HandlerStats(msgspec.Struct, kw_only=True):
    """What one topic handler did, counted by the notifier that runs it."""

    topic: str
    id: str
    sent: int = 0  # delivered to the receiver
    failed: int = 0  # given up on after every retry, or refused by the receiver
    retried: int = 0  # attempts after a first one failed
    dropped: int = 0  # events skipped unsent: too far behind (alert.handler-backlog)
    skipped: int = 0  # not matched by the handler's `match`
    suppressed: int = 0  # recorded but not to be sent: silenced, inhibited, no_recoveries
    # times the stream's limit (alert.keep) removed messages while it was busy, before it read
    # past them: those of its topic, if any, were not sent
    overrun: int = 0
    last_error: str = ""


def handler_error(message: str) -> RequestError:
    return RequestError(f"topic handler: {message}")


def check_handler(
    doc: Any, *, topic: str = "", handler_id: str = "", named: bool = True
) -> TopicHandler:
    """The handler `doc` defines (a decoded JSON or YAML document), with `topic` and
    `handler_id` (from a URL) filled in where it leaves them out; RequestError when it is not
    a valid definition or disagrees with them. `named=False`: its names were made, not given
    (a script's handler), and are not held to the naming rule."""
    from kapacitor.alerting.kinds.registry import KINDS  # see registry's docstring

    if not isinstance(doc, dict):
        raise handler_error(f"expected a mapping with id, topic, kind, got {type(doc).__name__}")
    doc = dict(doc)
    for key, given in (("topic", topic), ("id", handler_id)):
        if given and doc.setdefault(key, given) != given:
            raise handler_error(f"{key} {doc[key]!r} differs from {given!r} in the URL")
    try:
        spec = msgspec.convert(doc, TopicHandler)
    except msgspec.ValidationError as e:
        raise handler_error(str(e).replace("`$.", "`")) from None
    if spec.plugin:
        raise handler_error("plugin is set by the plugin whose script defines a handler")
    for name, what in ((spec.id, "handler"), (spec.topic, "topic")) if named else ():
        problem = name_problem(name, what)
        if problem is not None:
            raise handler_error(problem)
    kind = KINDS.get(spec.kind)
    if kind is None:
        close = difflib.get_close_matches(spec.kind, list(KINDS), n=1, cutoff=0.5)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        raise handler_error(f"unknown kind {spec.kind!r}{hint}; kinds: {', '.join(KINDS)}")
    try:
        options = msgspec.convert(spec.options, kind.options)
    except msgspec.ValidationError as e:
        raise handler_error(f"{spec.kind} options: " + str(e).replace("`$.", "`options.")) from None
    try:
        options.check()
        options.check_topic(spec.topic)
    except ValueError as e:
        raise handler_error(f"{spec.kind} options: {e}") from None
    try:
        EventMatch(spec.match)
    except DslError as e:
        raise handler_error(f"match {e}") from None
    return spec


def encode_handler(spec: TopicHandler) -> bytes:
    return msgspec.json.encode(spec)


def decode_handler(data: bytes) -> TopicHandler:
    return msgspec.json.decode(data, type=TopicHandler)
