"""Plugin definitions as the API takes and gives them: request bodies, the bookkeeping of a
(re-)definition, and the JSON document of a plugin. No I/O here."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from kapacitor.api import V1
from kapacitor.api.status import diagnostics
from kapacitor.errors import DefinitionErrors, RequestError
from kapacitor.plugins import PluginDefinition, PluginSpec, PluginStats, spec_fields
from kapacitor.plugins.validate import validate_definition

__all__ = [
    "CheckBody",
    "PluginBody",
    "PluginPatch",
    "check_document",
    "decode_body",
    "defined",
    "enabled",
    "plugin_document",
]

T = TypeVar("T")

_STATS = (
    "points_processed",
    "points_skipped",
    "alerts_fired",
    "errors",
    "last_error",
    "instances",
    "instances_expired",
    "state_bytes",
    "points_refused",
    "template_errors",
    "output_points",
    "output_dropped",
    "queries",
    "query_errors",
    "ticks_skipped",
    "last_tick",
)


class PluginBody(PluginSpec, frozen=True, kw_only=True):
    """POST /plugins: create or re-define. Unset `enabled` keeps what the plugin had."""

    enabled: bool | None = None


class PluginPatch(msgspec.Struct, frozen=True, kw_only=True):
    enabled: bool | None = None


class CheckBody(msgspec.Struct, frozen=True, kw_only=True):
    script: str
    where: str = ""


def decode_body(data: bytes, kind: type[T]) -> T:
    """A JSON request body as `kind` (lax: "3" is read as 3); RequestError when it is not."""
    try:
        return msgspec.json.decode(data, type=kind, strict=False)
    except msgspec.DecodeError as e:  # ValidationError included
        raise RequestError(f"invalid request: {e}") from None


def defined(body: PluginBody, old: PluginDefinition | None, now_ns: int) -> PluginDefinition:
    """The definition `body` makes of the plugin `old` (None: a new one): every define is a new
    revision, created stays, enabled stays unless the body sets it. Raises PluginError or
    DefinitionErrors when it does not check (nothing is to be stored then)."""
    d = PluginDefinition(
        **(spec_fields(body) | {"group_by": body.group_by or None}),
        enabled=body.enabled if body.enabled is not None else (old.enabled if old else False),
        created=old.created if old else now_ns,
        modified=now_ns,
        revision=(old.revision + 1) if old else 1,
    )
    validate_definition(d)
    return d


def enabled(d: PluginDefinition, patch: PluginPatch, now_ns: int) -> PluginDefinition | None:
    """The definition after `patch`, or None when it changes nothing (nothing to store)."""
    if patch.enabled is None or patch.enabled == d.enabled:
        return None
    return msgspec.structs.replace(d, enabled=patch.enabled, modified=now_ns)


def check_document(body: CheckBody) -> dict[str, Any]:
    """POST /check: whether a script and where clause would define, with their diagnostics."""
    d = PluginDefinition(name="check", from_="check", script=body.script, where=body.where)
    try:
        validate_definition(d)
    except DefinitionErrors as e:
        return {"ok": False, "diagnostics": diagnostics(e)}
    return {"ok": True, "diagnostics": []}


def plugin_document(d: PluginDefinition, stats: PluginStats | None) -> dict[str, Any]:
    """A plugin as GET /plugins/{name} shows it: its definition, a self link, and its counters
    (under "stats" and, as Kapacitor's task list has them, at the top level)."""
    doc: dict[str, Any] = msgspec.to_builtins(d)
    doc["link"] = {"rel": "self", "href": f"{V1}/plugins/{d.name}"}
    if stats is not None:
        doc["stats"] = {k: getattr(stats, k) for k in _STATS}
        # The revision the interpreter runs: once it equals `revision`, a re-definition is live.
        doc["stats"]["running_revision"] = stats.revision
        doc.update(doc["stats"])
    return doc
