"""Ingest's domain: the write request and reply that travel between API and ingest, and turning
a chunk of line protocol into a point batch. No I/O here."""

from __future__ import annotations

import msgspec

from kapacitor.errors import LineProtocolError
from kapacitor.lineprotocol import PRECISIONS as PRECISIONS  # the decoder's list, not a copy
from kapacitor.lineprotocol import parse_body
from kapacitor.model import PointBatch

MAX_ERRORS_REPORTED = 100


class LineError(msgspec.Struct, frozen=True):
    line: int
    message: str


class WriteReply(msgspec.Struct, frozen=True, kw_only=True):
    accepted: int = 0
    errors: list[LineError] = []
    failure: str = ""  # set when nothing could be stored (bus down): the API answers 503


def parse_chunk(
    body: bytes, *, db: str, rp: str, precision: str, now_ns: int, first_line: int
) -> tuple[PointBatch, list[LineProtocolError]]:
    return parse_body(body, db=db, rp=rp, precision=precision, now_ns=now_ns, first_line=first_line)


def encode_reply(r: WriteReply) -> bytes:
    return msgspec.json.encode(r)


def decode_reply(data: bytes) -> WriteReply:
    return msgspec.json.decode(data, type=WriteReply)


def reply_for(accepted: int, errors: list[LineProtocolError]) -> WriteReply:
    return WriteReply(
        accepted=accepted,
        errors=[LineError(e.line, e.reason) for e in errors[:MAX_ERRORS_REPORTED]],
    )
