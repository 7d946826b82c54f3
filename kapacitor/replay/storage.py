"""Recordings as line-protocol files (.lp), to share them or to build them by hand.

`export_lines` writes every batch as line protocol (ns timestamps), each preceded by a comment
line naming its database and retention policy:

    # kapacitor-batch {"db":"telegraf","rp":"autogen"}
    cpu,host=a usage_idle=12.5 1700000000000000000
    ...

InfluxDB and Telegraf skip `#` lines, so the file is plain line protocol to them too.
`import_lines` reads such a file back into the same batches: each `# kapacitor-batch` section
is parsed alone, so a field typed differently in two batches survives the round trip. Lines
before any such header (a hand-written file, `influx_inspect export` output) go to the `db` and
`rp` given. Sections longer than `MAX_CHUNK_BYTES` are split at point boundaries.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import orjson

from kapacitor.errors import LineProtocolError, RequestError
from kapacitor.lineprotocol import encode_batch_lines, parse_body, split_body
from kapacitor.model.batch import PointBatch

__all__ = [
    "HEADER_PREFIX",
    "MAX_CHUNK_BYTES",
    "MAX_ERRORS_REPORTED",
    "export_lines",
    "import_lines",
    "imported_batches",
]

HEADER_PREFIX = b"# kapacitor-batch "
MAX_CHUNK_BYTES = 1 << 20
MAX_ERRORS_REPORTED = 100
_HEADER = re.compile(rb"^# kapacitor-batch (\{.*\})[ \t]*\r?$", re.M)


def export_lines(batches: Iterable[PointBatch]) -> Iterator[bytes]:
    """Each non-empty batch as a header line plus one line per point (newline-terminated).

    Raises LineProtocolError for what line protocol cannot hold (e.g. a NaN float)."""
    for b in batches:
        if not len(b):
            continue
        header = HEADER_PREFIX + orjson.dumps({"db": b.db, "rp": b.rp}) + b"\n"
        yield header + encode_batch_lines(b)


def _sections(data: bytes, db: str, rp: str) -> Iterator[tuple[int, str, str, bytes]]:
    """(first line number, db, rp, body) of each section of `data`."""
    pos, line, cur_db, cur_rp = 0, 1, db, rp
    for m in _HEADER.finditer(data):
        body = data[pos : m.start()]
        if body.strip():
            yield line, cur_db, cur_rp, body
        line += data.count(b"\n", pos, m.end()) + 1
        try:
            meta = orjson.loads(m.group(1))
            cur_db, cur_rp = str(meta.get("db", db)), str(meta.get("rp", rp))
        except (orjson.JSONDecodeError, AttributeError):
            cur_db, cur_rp = db, rp
        pos = m.end() + 1
    body = data[pos:]
    if body.strip():
        yield line, cur_db, cur_rp, body


def import_lines(
    data: bytes,
    *,
    db: str = "",
    rp: str = "",
    now_ns: int,
    max_chunk_bytes: int = MAX_CHUNK_BYTES,
) -> tuple[list[PointBatch], list[LineProtocolError]]:
    """The batches of a line-protocol file, and one error per line that did not parse (line
    numbers within `data`). Points without a timestamp get `now_ns` (the caller's clock)."""
    batches: list[PointBatch] = []
    errors: list[LineProtocolError] = []
    for first, sdb, srp, body in _sections(data, db, rp):
        for offset, chunk in split_body(body, max_chunk_bytes):
            parsed, errs = parse_body(
                chunk, db=sdb, rp=srp, now_ns=now_ns, first_line=first + offset - 1
            )
            batches += [b for b in parsed if len(b)]
            errors += errs
    return batches, errors


def imported_batches(data: bytes, *, db: str, rp: str, now_ns: int) -> list[PointBatch]:
    """The batches of a file to import as a recording; RequestError naming the bad lines (the
    first in the message, up to MAX_ERRORS_REPORTED in `details`) or saying it holds none."""
    batches, errors = import_lines(data, db=db, rp=rp, now_ns=now_ns)
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more bad lines)" if len(errors) > 1 else ""
        raise RequestError(
            f"line {first.line}: {first.reason}{more}",
            errors=[{"line": e.line, "message": e.reason} for e in errors[:MAX_ERRORS_REPORTED]],
        )
    if not batches:
        raise RequestError("the file holds no points")
    return batches
