"""OpenAPI entries for JSON bodies that routes decode themselves (with msgspec, into the structs
shared with the services), so /openapi.json still documents them."""

from __future__ import annotations

from typing import Any

import msgspec


def json_body(kind: type[Any]) -> dict[str, Any]:
    schema = msgspec.json.schema(kind)
    # The bodies are flat structs: inline the one definition instead of a $defs reference.
    inline = schema.get("$defs", {}).get(kind.__name__, schema)
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": inline}}}}
