"""Ingest's domain: the write request and reply that travel between API and ingest, and turning
a chunk of line protocol into a point batch. No I/O here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from kapacitor.bus import subjects
from kapacitor.errors import LineProtocolError, RequestError, WriteNotStored
from kapacitor.lineprotocol import PRECISIONS, parse_body
from kapacitor.model import PointBatch

MAX_ERRORS_REPORTED = 100


class WriteRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What comes with a chunk of a /write body (as NATS headers; the chunk is the payload)."""

    db: str
    rp: str
    precision: str = "ns"
    first_line: int = 1  # of the chunk within the whole body, so errors name body lines
    now_ns: int = 0  # the time of points without a timestamp; 0: when ingest parses them

    def headers(self) -> dict[str, str]:
        return {
            subjects.H_DB: self.db,
            subjects.H_RP: self.rp,
            subjects.H_PRECISION: self.precision,
            subjects.H_FIRST_LINE: str(self.first_line),
            subjects.H_NOW: str(self.now_ns),
        }

    @classmethod
    def from_headers(cls, h: Mapping[str, str], default_rp: str) -> WriteRequest:
        return cls(
            db=h.get(subjects.H_DB, ""),
            rp=h.get(subjects.H_RP, default_rp),
            precision=h.get(subjects.H_PRECISION, "ns"),
            first_line=int(h.get(subjects.H_FIRST_LINE, "1")),
            now_ns=int(h.get(subjects.H_NOW, "0")),
        )


def check_write_params(db: str, precision: str) -> None:
    """RequestError unless a /write names a database and a known precision."""
    if not db:
        raise RequestError("database is required: add ?db=NAME")
    if precision not in PRECISIONS:
        raise RequestError(f"invalid precision {precision!r}: use one of n, u, ms, s, m, h")


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


def write_outcome(replies: Sequence[WriteReply]) -> int:
    """The points accepted by a write sent in chunks, when every line was stored.

    WriteNotStored when a chunk could not be stored at all (503: retry); RequestError naming
    the bad lines otherwise (400, InfluxDB's partial write: the good lines are kept).
    """
    accepted = sum(r.accepted for r in replies)
    failures = [r.failure for r in replies if r.failure]
    if failures:
        raise WriteNotStored("write not stored: " + failures[0], accepted=accepted)
    errors = [e for r in replies for e in r.errors]
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more bad lines)" if len(errors) > 1 else ""
        raise RequestError(
            f"partial write: line {first.line}: {first.message}{more}; {accepted} points accepted",
            accepted=accepted,
            rejected=len(errors),
            errors=[{"line": e.line, "message": e.message} for e in errors],
        )
    return accepted
