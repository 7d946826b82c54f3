"""The replay control protocol: requests, replies and failures as typed structs."""

from __future__ import annotations

import pytest

from kapacitor.errors import CodecError, RequestError, ServiceFailed
from kapacitor.replay.messages import (
    Failure,
    RecordStream,
    ReplayDone,
    ReplayRequest,
    decode_reply,
    decode_request,
    encode,
)


def test_requests_round_trip_and_bad_ones_are_codec_errors() -> None:
    req = RecordStream(from_="cpu", where="host = 'a'", duration=2.5)
    assert decode_request(encode(req), RecordStream) == req
    assert b'"from":"cpu"' in encode(req)
    assert decode_request(b"", RecordStream) == RecordStream()
    with pytest.raises(CodecError, match="invalid ReplayRequest"):
        decode_request(b'{"recording": "r"}', ReplayRequest)
    with pytest.raises(CodecError):
        decode_request(b'{"recording": "r", "plugin": "p", "speed": -1}', ReplayRequest)


def test_replies_or_failures() -> None:
    assert decode_reply(encode(ReplayDone(3)), ReplayDone) == ReplayDone(3)
    with pytest.raises(ServiceFailed, match=r"^recording 1 is still running$"):
        decode_reply(encode(Failure("recording 1 is still running")), ReplayDone)
    with pytest.raises(CodecError):
        decode_reply(b"[]", ReplayDone)


def test_stream_filters_describe_themselves_and_check_their_where() -> None:
    assert RecordStream().describe() == "all points"
    assert RecordStream(from_="cpu", rp="w").describe() == "from='cpu' rp='w'"
    RecordStream(where="host = 'a'").check_where()
    with pytest.raises(RequestError, match=r"^where 1:"):
        RecordStream(where="host =").check_where()
