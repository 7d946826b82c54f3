"""The one error tree: every error raised on purpose is a KapacitorError, lookups that miss are
NotFound, and the CLI's error carries the API's answer as attributes."""

from __future__ import annotations

from kapacitor.errors import (
    BodyTooLarge,
    BusError,
    ClientError,
    Conflict,
    DefinitionErrors,
    DslError,
    InfluxError,
    KapacitorError,
    NotFound,
    PluginError,
    PluginNotFound,
    RecordingNotFound,
    RequestError,
    ServiceFailed,
    ServiceUnavailable,
    Span,
    WriteNotStored,
)


def test_lookups_that_miss_are_not_found_and_keep_their_family() -> None:
    assert issubclass(PluginNotFound, NotFound) and issubclass(PluginNotFound, PluginError)
    assert issubclass(RecordingNotFound, NotFound)
    assert issubclass(NotFound, KapacitorError)


def test_api_facing_errors_are_in_the_tree() -> None:
    for cls in (
        BodyTooLarge,
        Conflict,
        ServiceUnavailable,
        WriteNotStored,
        ServiceFailed,
        InfluxError,
    ):
        assert issubclass(cls, KapacitorError)
    assert issubclass(BodyTooLarge, RequestError) and issubclass(Conflict, RequestError)
    assert issubclass(ServiceUnavailable, BusError) and issubclass(WriteNotStored, BusError)
    assert RequestError("bad", line=3).details == {"line": 3}
    assert WriteNotStored("no", accepted=2).details == {"accepted": 2}


def test_definition_errors_name_each_part() -> None:
    e = DefinitionErrors([("where", DslError("unexpected 'x'", Span(1, 5), "a = x"))])
    assert isinstance(e, PluginError)
    assert str(e) == "where 1:5: unexpected 'x'"
    assert e.render().startswith("where:1:5: unexpected 'x'")


def test_client_error_carries_status_and_document() -> None:
    e = ClientError("nope", status=404, document={"error": "nope"})
    assert (e.status, e.document, str(e)) == (404, {"error": "nope"}, "nope")
    assert (ClientError("down").status, ClientError("down").document) == (0, None)
