"""The plugin definition's fields as `define` and `push` send them, taken from the model
(kapacitor.plugins.PluginSpec) rather than listed again here."""

from __future__ import annotations

from typing import Any

import msgspec

from kapacitor.plugins import PluginSpec

__all__ = ["DEFINITION_KEYS", "define_body"]

# What define sets besides the name (enabled is enable's and disable's; the rest the server's).
DEFINITION_KEYS: tuple[str, ...] = tuple(
    f.encode_name for f in msgspec.structs.fields(PluginSpec) if f.name != "name"
)


def define_body(d: PluginSpec) -> dict[str, Any]:
    """The JSON body of `POST /plugins` that defines `d`."""
    doc = msgspec.to_builtins(d)
    return {"name": d.name} | {k: doc[k] for k in DEFINITION_KEYS}
