"""Handlers a script attaches to its alerts: `notify=handler("slack", channel="#ops")`
(docs/language.md, "Handlers in the script").

They are topic handlers like any other (kapacitor.alerting.topic_handlers), owned by the plugin:
defined, changed and deleted with it, on the alert's topic (`topic=`, else the alert's own,
kapacitor.alerting.names.anonymous_topic), reading only the plugin's events of that topic.
This module turns a checked script into those definitions (`handlers_of`); the checker calls
`handler_problem` on each handler() when the script is defined. No I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from kapacitor.alerting.names import anonymous_topic
from kapacitor.alerting.topic_handlers import TopicHandler, check_handler, handler_error
from kapacitor.dsl.ast import Call, Duration, Expr, Ident, List
from kapacitor.dsl.functions import suggest
from kapacitor.dsl.tokens import format_ns
from kapacitor.dsl.types import Type
from kapacitor.errors import RequestError

if TYPE_CHECKING:
    from kapacitor.dsl.check import CheckedScript

__all__ = ["HANDLER_ARGS", "handler_problem", "handler_spec", "handlers_of", "option_value"]

HANDLER_ARGS = ("kind", "match")  # handler()'s own parameters: the rest are options


class _Typed(Protocol):
    """What both the checker (during a check) and a checked script tell about a node."""

    def type_of(self, node: Expr) -> Any: ...
    def constant(self, node: Expr) -> object | None: ...


def option_value(facts: _Typed, node: Expr) -> object:
    """An option as a handler file would hold it: a duration as its text (`5s`), a list as a
    list."""
    if isinstance(node, Duration):
        return node.text
    if isinstance(node, List):
        return [option_value(facts, item) for item in node.items]
    value = facts.constant(node)
    if facts.type_of(node) == Type.DURATION and isinstance(value, int):
        return format_ns(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def handler_spec(
    facts: _Typed, args: dict[str, Expr], *, topic: str, handler_id: str, plugin: str
) -> TopicHandler:
    """The topic handler a handler() call with bound `args` defines; RequestError naming the
    option (`handler: slack options: ...`) when its options do not suit its kind."""
    kind = facts.constant(args["kind"])
    match = facts.constant(args["match"]) if "match" in args else ""
    assert isinstance(kind, str) and isinstance(match, str)
    options = {
        name: option_value(facts, node) for name, node in args.items() if name not in HANDLER_ARGS
    }
    doc = {
        "id": handler_id,
        "topic": topic,
        "kind": kind,
        "match": match,
        "options": _as_file(kind, options),
    }
    spec = check_handler(doc, named=False)
    return msgspec.structs.replace(spec, plugin=plugin)


def _as_file(kind: str, options: dict[str, object]) -> dict[str, object]:
    """Script options under the names and in the shapes of a handler file: `icon_emoji` is
    the kind's `icon-emoji`, and a list of "key: value" strings given for a mapping is one.
    RequestError for an option the kind does not have, with its closest one."""
    from kapacitor.alerting.kinds.registry import KINDS  # see registry's docstring

    found = KINDS.get(kind)
    if found is None:
        return options  # check_handler names the kind
    fields = {f.name: f for f in msgspec.structs.fields(found.options)}
    out: dict[str, object] = {}
    for name, value in options.items():
        f = fields.get(name)
        if f is None:
            close = suggest(name, list(fields))
            hint = f"did you mean {close}? " if close else ""
            raise handler_error(
                f"{kind} has no option {name!r}: {hint}(options: {', '.join(fields)})"
            )
        if getattr(f.type, "__origin__", f.type) is dict and isinstance(value, list):
            value = _mapping(name, value)
        out[f.encode_name] = value
    return out


def _mapping(name: str, items: list[object]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = str(item).partition(":")
        if not isinstance(item, str) or not sep or not key.strip():
            raise handler_error(f'option {name} takes a list of "key: value" strings, got {item!r}')
        out[key.strip()] = value.strip()
    return out


def handlers_of(plugin: str, checked: CheckedScript) -> tuple[TopicHandler, ...]:
    """The handlers plugin `plugin`'s checked script attaches."""
    out: list[TopicHandler] = []
    for index, statement in enumerate(checked.alerts):
        args = checked.call(statement).args
        if "notify" not in args:
            continue
        given = checked.constant(args["topic"]) if "topic" in args else None
        topic = given if isinstance(given, str) else anonymous_topic(plugin, index)
        seen: dict[str, int] = {}
        for call in handler_calls(checked, args["notify"]):
            bound = dict(checked.call(call).args)
            kind = str(checked.constant(bound["kind"]))
            seen[kind] = seen.get(kind, 0) + 1
            name = kind if seen[kind] == 1 else f"{kind}-{seen[kind]}"
            if given is not None:  # a shared topic: the id says whose it is
                name = f"{anonymous_topic(plugin, index)}:{name}"
            out.append(handler_spec(checked, bound, topic=topic, handler_id=name, plugin=plugin))
    return tuple(out)


def handler_problem(facts: _Typed, args: dict[str, Expr]) -> str | None:
    """What is wrong with a handler() call's kind, match or options, or None."""
    try:
        handler_spec(facts, args, topic="check", handler_id="check", plugin="check")
    except RequestError as e:
        return str(e).removeprefix("topic handler: ")
    return None


class _Bindings(Protocol):
    def binding(self, node: Ident) -> Any: ...


def handler_calls(facts: _Bindings, node: Expr) -> list[Call]:
    """The handler() calls `notify=` names: one, or a list's, through lets."""
    if isinstance(node, Ident):
        let = facts.binding(node)
        return [] if let is None else handler_calls(facts, let.value)
    if isinstance(node, List):
        return [c for item in node.items for c in handler_calls(facts, item)]
    return [node] if isinstance(node, Call) else []
