"""Ingest's domain: the write request as headers, and the outcome of a chunked write."""

from __future__ import annotations

import pytest

from kapacitor.errors import RequestError, WriteNotStored
from kapacitor.ingest import (
    LineError,
    WriteReply,
    WriteRequest,
    check_write_params,
    write_outcome,
)


def test_write_request_round_trips_through_headers() -> None:
    req = WriteRequest(db="d", rp="r", precision="s", first_line=7, now_ns=42)
    assert WriteRequest.from_headers(req.headers(), "autogen") == req
    assert WriteRequest.from_headers({}, "autogen") == WriteRequest(db="", rp="autogen")


def test_write_params() -> None:
    check_write_params("db", "ms")
    with pytest.raises(RequestError, match=r"database is required: add \?db=NAME"):
        check_write_params("", "ns")
    with pytest.raises(RequestError, match="invalid precision 'fortnight'"):
        check_write_params("db", "fortnight")


def test_write_outcome() -> None:
    assert write_outcome([WriteReply(accepted=2), WriteReply(accepted=3)]) == 5
    with pytest.raises(WriteNotStored, match="write not stored: bus down") as stored:
        write_outcome([WriteReply(accepted=2), WriteReply(failure="bus down")])
    assert stored.value.details == {"accepted": 2}
    bad = [WriteReply(accepted=1, errors=[LineError(2, "x"), LineError(5, "y")])]
    with pytest.raises(RequestError) as partial:
        write_outcome(bad)
    assert str(partial.value) == (
        "partial write: line 2: x (and 1 more bad lines); 1 points accepted"
    )
    assert partial.value.details == {
        "accepted": 1,
        "rejected": 2,
        "errors": [{"line": 2, "message": "x"}, {"line": 5, "message": "y"}],
    }
