"""The one table from errors to HTTP statuses, and the error document."""

from __future__ import annotations

import nats.errors
import pytest

from kapacitor.api.status import error_document, status_of
from kapacitor.errors import (
    BodyTooLarge,
    BusError,
    CodecError,
    Conflict,
    DefinitionErrors,
    DslError,
    KapacitorError,
    LineProtocolError,
    PluginError,
    PluginNotFound,
    RecordingNotFound,
    RequestError,
    ServiceFailed,
    ServiceUnavailable,
    Span,
    WriteNotStored,
)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (PluginNotFound("no plugin named 'x'"), 404),
        (RecordingNotFound("no recording"), 404),
        (BodyTooLarge("too large"), 413),
        (Conflict("taken"), 409),
        (RequestError("bad"), 400),
        (DslError("bad", Span(1, 1)), 400),
        (LineProtocolError(3, "bad"), 400),
        (PluginError("bad name"), 400),
        (ServiceFailed("recording 1 is still running"), 400),
        (BusError("down"), 503),
        (CodecError("undecodable"), 503),
        (ServiceUnavailable("no ingest service is running"), 503),
        (WriteNotStored("write not stored"), 503),
        (nats.errors.ConnectionClosedError(), 503),
        (nats.errors.TimeoutError(), 503),
        (KapacitorError("other"), 400),
        (RuntimeError("bug"), 500),
    ],
)
def test_status_of(error: Exception, status: int) -> None:
    assert status_of(error) == status


def test_error_documents_carry_details_and_diagnostics() -> None:
    assert error_document(PluginNotFound("no plugin named 'x'")) == {"error": "no plugin named 'x'"}
    assert error_document(WriteNotStored("write not stored: x", accepted=3)) == {
        "error": "write not stored: x",
        "accepted": 3,
    }
    e = DefinitionErrors([("script", DslError("unknown function 'agv'", Span(2, 7, 3)))])
    doc = error_document(e)
    assert doc["error"] == "script 2:7: unknown function 'agv'"
    assert doc["diagnostics"] == [
        {
            "part": "script",
            "line": 2,
            "col": 7,
            "message": "unknown function 'agv'",
            "rendered": "script:2:7: unknown function 'agv'",
        }
    ]
