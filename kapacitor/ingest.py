"""Ingest's domain: turning a write (a body of line protocol, in chunks) into point batches
ready for the POINTS stream, and the outcome InfluxDB clients expect. No I/O here: the API
(for /write) and the ingest service (for the NATS input) parse and store with these."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from kapacitor.bus import subjects
from kapacitor.bus.interface import Stored
from kapacitor.errors import LineProtocolError, RequestError
from kapacitor.influx.series import INFLUX_TYPES
from kapacitor.lineprotocol import PRECISIONS, TYPE_CONFLICT, parse_body
from kapacitor.model import encode_batch
from kapacitor.model.batch import FieldType, PointBatch

# InfluxDB's names of the field types, as its errors say them.
INFLUX_NAMES = {ftype: name for name, ftype in INFLUX_TYPES.items()}

MAX_ERRORS_REPORTED = 100
MAX_MESSAGE_BYTES = 1024 * 1024 - 4096


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
    # Each (measurement, field)'s type in the chunks so far: the parser sees one chunk at a
    # time, and a big body's chunks must agree as its lines do. The first chunk's batches are
    # only typed once a second chunk comes (most writes are one chunk: they pay nothing).
    types: dict[tuple[str, str], FieldType] = field(default_factory=dict)
    chunks: int = 0
    _first: list[PointBatch] = field(default_factory=list)
    # The largest message the bus takes (NATS's default max_payload, less room for headers).
    max_message: int = MAX_MESSAGE_BYTES
    _too_big: list[int] = field(default_factory=list)

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
        self.chunks += 1
        if self.chunks == 1:
            self._first = batches
        elif self.conflict is None:
            if self._first:  # one chunk agrees with itself: this only records its types
                self._typed(self._first, 1)
                self._first = []
            self.conflict = self._typed(batches, first_line)
        if self.conflict is not None:  # nothing of the write is stored
            self.messages.clear()
            self.accepted = 0
        else:
            for batch in batches:
                for data, n in self._encoded(batch):
                    msg_id = f"w.{self.write_id}.{len(self.messages)}"
                    self.messages.append(Stored(subjects.POINTS_IN, data, msg_id))
                    self.accepted += n
                for size in self._too_big:
                    errors.append(
                        LineProtocolError(
                            first_line,
                            f"point too large to store: {size:,} bytes encoded, the bus takes"
                            f" messages of at most {self.max_message:,}",
                        )
                    )
                self._too_big.clear()
        # A body of bad lines keeps only what is reported, not an error per line.
        self.rejected += len(errors)
        self.errors += errors[: MAX_ERRORS_REPORTED - len(self.errors)]

    def _encoded(self, batch: PointBatch) -> list[tuple[bytes, int]]:
        """The batch as messages of at most `max_message` bytes (halved until each fits), with
        their points; a point that fits in none is left out (its size in `_too_big`). Such a
        point is a line longer than a chunk, a chunk of its own: the chunk's first line."""
        n = len(batch)
        if not n:
            return []
        data = encode_batch(batch)
        if len(data) <= self.max_message:
            return [(data, n)]
        if n == 1:
            self._too_big.append(len(data))
            return []
        half = n // 2
        return self._encoded(batch.take(np.arange(half))) + self._encoded(
            batch.take(np.arange(half, n))
        )

    def _typed(self, batches: list[PointBatch], first_line: int) -> LineProtocolError | None:
        """Record the chunk's field types; the error of one an earlier chunk typed otherwise
        (named by the chunk's first line: its batches keep no line numbers)."""
        for b in batches:
            names = [s.measurement for s in b.series]
            single = names[0] if names and names.count(names[0]) == len(names) else None
            for name, col in b.fields.items():
                if single is not None:
                    measurements: Iterable[str] = (single,)
                else:
                    rows = b.series_idx if col.present is None else b.series_idx[col.present]
                    measurements = {names[i] for i in np.unique(rows).tolist()}
                for m in measurements:
                    had = self.types.setdefault((m, name), col.type)
                    if had is not col.type:
                        return LineProtocolError(
                            first_line,
                            f"{TYPE_CONFLICT}: {name!r} of measurement {m!r} is "
                            f"{INFLUX_NAMES[had]} earlier in this request, got "
                            f"{INFLUX_NAMES[col.type]} (in the lines from {first_line} on)",
                        )
        return None

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
