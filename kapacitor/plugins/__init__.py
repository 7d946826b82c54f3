"""Plugin definitions: the data model (`model`), imported everywhere, and the checks run before
one is stored (`validate`), which needs the whole compiler. Only the model is re-exported here,
so the matcher and engine can import it without pulling the compiler in."""

from kapacitor.plugins.model import (
    PluginDefinition,
    PluginSpec,
    PluginStats,
    decode_definition,
    encode_definition,
    expire_ns,
    spec_fields,
    state_fingerprint,
    sum_stats,
)

__all__ = [
    "PluginDefinition",
    "PluginSpec",
    "PluginStats",
    "decode_definition",
    "encode_definition",
    "expire_ns",
    "spec_fields",
    "state_fingerprint",
    "sum_stats",
]
