"""The plugin definition's fields as `define` and `push` send them, taken from the model
(kapacitor.plugins.PluginDefinition) rather than listed again here."""

from __future__ import annotations

from typing import Any

import msgspec

from kapacitor.plugins import PluginDefinition

__all__ = ["DEFINITION_KEYS", "define_body"]

# Kept by the server: a define request names the plugin but sets none of the others.
_SERVER_KEYS = frozenset({"name", "enabled", "created", "modified", "revision"})

DEFINITION_KEYS: tuple[str, ...] = tuple(
    f.encode_name
    for f in msgspec.structs.fields(PluginDefinition)
    if f.encode_name not in _SERVER_KEYS
)


def define_body(d: PluginDefinition) -> dict[str, Any]:
    """The JSON body of `POST /plugins` that defines `d`."""
    doc = msgspec.to_builtins(d)
    return {"name": d.name} | {k: doc[k] for k in DEFINITION_KEYS}
