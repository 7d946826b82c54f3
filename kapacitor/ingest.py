"""Ingest's domain: turning a write (a body of line protocol, in chunks) into point batches
ready for the POINTS stream, and the outcome InfluxDB clients expect. No I/O here: the API
(for /write) and the ingest service (for the NATS input) parse and store with these."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from kapacitor.bus import subjects
from kapacitor.bus.interface import Stored
from kapacitor.errors import LineProtocolError, RequestError
from kapacitor.lineprotocol import PRECISIONS, TYPE_CONFLICT, parse_body
from kapacitor.model import encode_batch

MAX_ERRORS_REPORTED = 100


def check_write_params(db: str, precision: str) -> None:
    """RequestError unless a /write names a database and a known precision."""
    if not db:
        raise RequestError("database is required: add ?db=NAME")
    if precision not in PRECISIONS:
        raise RequestError(f"invalid precision {precision!r}: use one of n, u, ms, s, m, h")


@dataclass
class Write:
    """One write as it is parsed chunk by chunk: the batches to store, each with an id of its
    own (a publish retried within the stream's duplicate window is stored once), what was
    accepted and the bad lines."""

    db: str
    rp: str
    precision: str
    now_ns: int  # the time of points without a timestamp
    write_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    messages: list[Stored] = field(default_factory=list)
    accepted: int = 0
    rejected: int = 0
    errors: list[LineProtocolError] = field(default_factory=list)  # the first reported ones
    # A field given two types within one measurement: InfluxDB 1.x refuses the whole write,
    # and so does this (field types are per measurement; across measurements they may differ).
    conflict: LineProtocolError | None = None

    def add_chunk(self, chunk: bytes, first_line: int = 1) -> None:
        """Parse one chunk whose first line is line `first_line` of the whole body."""
        batches, errors = parse_body(
            chunk,
            db=self.db,
            rp=self.rp,
            precision=self.precision,
            now_ns=self.now_ns,
            first_line=first_line,
        )
        if self.conflict is None:
            self.conflict = next((e for e in errors if e.reason.startswith(TYPE_CONFLICT)), None)
        if self.conflict is not None:  # nothing of the write is stored
            self.messages.clear()
            self.accepted = 0
        else:
            for batch in batches:
                if len(batch):
                    msg_id = f"w.{self.write_id}.{len(self.messages)}"
                    self.messages.append(Stored(subjects.POINTS_IN, encode_batch(batch), msg_id))
                    self.accepted += len(batch)
        # A body of bad lines keeps only what is reported, not an error per line.
        self.rejected += len(errors)
        self.errors += errors[: MAX_ERRORS_REPORTED - len(self.errors)]

    def outcome(self) -> int:
        """The points accepted once the batches are stored, when every line was good;
        RequestError naming the bad lines otherwise (400, InfluxDB's partial write: the good
        lines are kept; after a field type conflict none are)."""
        if self.conflict is not None:
            c = self.conflict
            raise RequestError(
                f"line {c.line}: {c.reason}; nothing stored (as InfluxDB 1.x, a write that gives "
                "a field two types within one measurement is refused whole)",
                accepted=0,
                rejected=self.rejected,
                errors=[{"line": e.line, "message": e.reason} for e in self.errors],
            )
        if not self.errors:
            return self.accepted
        first = self.errors[0]
        more = f" (and {self.rejected - 1} more bad lines)" if self.rejected > 1 else ""
        raise RequestError(
            f"partial write: line {first.line}: {first.reason}{more}; "
            f"{self.accepted} points accepted",
            accepted=self.accepted,
            rejected=self.rejected,
            errors=[{"line": e.line, "message": e.reason} for e in self.errors],
        )
