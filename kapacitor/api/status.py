"""Errors to HTTP statuses, in one table, and the JSON document of an error.

Looked up along the error's MRO, so the most specific entry wins: PluginNotFound is a
NotFound before it is a PluginError. A bus failure (BusError, or NATS itself failing) is 503:
the request may succeed when retried, unlike a 400.
"""

from __future__ import annotations

from typing import Any

from kapacitor.bus.client import NATS_ERRORS
from kapacitor.errors import (
    BodyTooLarge,
    BusError,
    Conflict,
    DefinitionErrors,
    DslError,
    KapacitorError,
    LineProtocolError,
    NotFound,
    PluginError,
    RequestError,
    ServiceFailed,
    WriteNotStored,
)

__all__ = ["STATUS", "diagnostics", "error_document", "status_of"]

STATUS: dict[type[Exception], int] = {
    NotFound: 404,
    BodyTooLarge: 413,
    Conflict: 409,
    RequestError: 400,
    DslError: 400,
    LineProtocolError: 400,
    PluginError: 400,
    ServiceFailed: 400,
    BusError: 503,
    **dict.fromkeys(NATS_ERRORS, 503),
    KapacitorError: 400,
}


def status_of(exc: BaseException) -> int:
    """The status of an error: its nearest class in STATUS; 500 for anything else."""
    for cls in type(exc).__mro__:
        status = STATUS.get(cls)
        if status is not None:
            return status
    return 500


def diagnostics(e: DefinitionErrors) -> list[dict[str, Any]]:
    """Each problem of a definition with its position and the source line, rendered."""
    return [
        {
            "part": part,
            "line": err.span.line,
            "col": err.span.col,
            "message": err.message,
            "rendered": err.render("script" if part == "script" else "where"),
        }
        for part, err in e.problems
    ]


def error_document(exc: BaseException) -> dict[str, Any]:
    """`{"error": message}` plus what the error carries: diagnostics, bad lines, counts."""
    doc: dict[str, Any] = {"error": str(exc)}
    if isinstance(exc, DefinitionErrors):
        doc["diagnostics"] = diagnostics(exc)
    if isinstance(exc, RequestError | WriteNotStored):
        doc.update(exc.details)
    return doc
