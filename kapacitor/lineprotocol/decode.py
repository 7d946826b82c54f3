"""Decoding an InfluxDB 1.x line-protocol body into one columnar PointBatch.

`parse_body` is the write hot path. Grammar, as InfluxDB 1.x accepts it:

    measurement[,tag=value...] field=value[,field=value...] [timestamp]

* Leading spaces and tabs are skipped; blank lines and lines starting with ``#`` are ignored;
  a ``\\r`` before the ``\\n`` is part of the line terminator.
* Sections are separated by one or more spaces; trailing spaces are allowed.
* Escapes in names (measurement, tag keys and values, field keys): a backslash followed by a
  special character stands for that character; every other backslash is literal (so ``\\\\``
  stays two backslashes, exactly as InfluxDB 1.x stores it). Special characters are ``, space =``
  for tags, plus ``"`` for measurements and field keys. A name cannot end with a backslash.
* String field values are double-quoted; inside them ``\\"`` is a quote and ``\\\\`` a backslash,
  any other backslash is literal. A quoted string may span lines (InfluxDB allows raw newlines
  in it); if such a point fails to parse, only its first line is reported and parsing resumes at
  the next physical line, so one stray quote never swallows the rest of the body.
* Values: ``1``, ``-1.5e3``, ``.5`` (float64, NaN/Inf and out-of-range rejected), ``12i``
  (int64), ``12u`` (uint64), ``t T true True TRUE f F false False FALSE``, ``"string"``.
* Duplicate tag keys are an error (as in InfluxDB); duplicate field keys: the last one wins, but
  every value must be valid.
* The timestamp is an integer in `precision` units; missing, it is `now_ns` truncated to the
  precision (as InfluxDB does).
* Field types are per measurement, as in InfluxDB 1.x: a line giving a field another type than
  an earlier line of the same measurement did is rejected with a "field type conflict"
  error; the same field name with another type in another measurement is fine, and goes to a
  batch of its own (a batch column has one type), with every later line of its measurement.

Speed, fastest first: a body whose lines all look alike is decoded with whole-body bytes
operations (uniform.py); otherwise one pass over the lines (fast.py) sends lines without ``"``
or ``\\`` through a fast path that defers number parsing and validation to one bulk step per
column at the end (columns.py), and everything else to the exact character scanner (scan.py),
which also writes every error message. A bulk validation failure re-runs the body with the
offending lines forced onto the scanner, so all paths always agree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kapacitor.errors import LineProtocolError
from kapacitor.lineprotocol.fast import LinePass
from kapacitor.lineprotocol.precision import precision_multiplier
from kapacitor.lineprotocol.uniform import parse_uniform
from kapacitor.model.batch import PointBatch

__all__ = ["parse_body", "parse_body_exact"]


def _split_lines(body: bytes) -> tuple[list[bytes], list[bytes]]:
    """Physical lines for the fast path (\\r stripped) and for the scanner (raw)."""
    raw_lines = body.split(b"\n")
    if b"\r" not in body:
        return raw_lines, raw_lines
    return [ln[:-1] if ln.endswith(b"\r") else ln for ln in raw_lines], raw_lines


def _parse(
    body: bytes,
    *,
    db: str,
    rp: str,
    precision: str,
    now_ns: int,
    first_line: int,
    fast: bool,
) -> tuple[list[PointBatch], list[LineProtocolError]]:
    mult = precision_multiplier(precision)
    if fast:
        uniform = parse_uniform(body, db=db, rp=rp, mult=mult)
        if uniform is not None:
            return [uniform], []
    now_raw = str(now_ns // mult).encode()
    lines, raw_lines = _split_lines(body)
    batches: list[PointBatch] = []
    errors: list[LineProtocolError] = []
    numbers: Sequence[int] = range(len(lines))  # the body's index of each line of this pass
    known: dict[tuple[str, str], int] = {}
    while True:

        def new_pass(force: frozenset[int]) -> LinePass:
            return LinePass(now_raw, mult, precision, force, known)

        run, batch = _one_pass(lines, raw_lines, new_pass, fast, db, rp)
        if len(batch) or not batches:
            batches.append(batch)
        errors += [
            LineProtocolError(first_line + numbers[i], reason, text.decode("utf-8", "replace"))
            for i, reason, text in run.errors
        ]
        if not run.deferred:
            errors.sort(key=lambda e: e.line)
            return batches, errors
        # Lines whose field types clash with other measurements' in this batch make the
        # next one (field types are per measurement in InfluxDB, per name in a batch).
        known.update(run.mtypes or {})
        taken = [j for i, used in run.deferred for j in range(i, i + used)]
        numbers = [numbers[j] for j in taken]
        lines = [lines[j] for j in taken]
        raw_lines = [raw_lines[j] for j in taken]
        fast = False


def _one_pass(
    lines: list[bytes],
    raw_lines: list[bytes],
    new_pass: Callable[[frozenset[int]], LinePass],
    fast: bool,
    db: str,
    rp: str,
) -> tuple[LinePass, PointBatch]:
    """One pass over `lines`, run again with the lines whose values bulk validation refused
    on the scanner until none is."""
    force: frozenset[int] = frozenset()
    while True:
        run = new_pass(force)
        run.run(lines, raw_lines, fast)
        batch, bad_lines = run.materialize(db, rp)
        if batch is not None:
            return run, batch
        if bad_lines <= force:
            # The scanner validates exactly what bulk validation accepts, so a line it let
            # through cannot fail again; refuse to loop if that ever stops being true.
            raise LineProtocolError(0, "internal error: value rejected twice")
        # Each round moves at least one more line to the scanner, so this ends.
        force = force | bad_lines


def parse_body(
    body: bytes,
    *,
    db: str,
    rp: str,
    precision: str = "ns",
    now_ns: int,
    first_line: int = 1,
) -> tuple[list[PointBatch], list[LineProtocolError]]:
    """Parse a line-protocol body into batches of the good lines, in order (one, unless a field
    has different types in different measurements: a batch column has one type), and one
    error per bad line.

    Line numbers in errors are 1-based physical line numbers counted from `first_line`. An
    unknown `precision` raises LineProtocolError with line 0; nothing else raises.
    """
    return _parse(
        body, db=db, rp=rp, precision=precision, now_ns=now_ns, first_line=first_line, fast=True
    )


def parse_body_exact(
    body: bytes,
    *,
    db: str,
    rp: str,
    precision: str = "ns",
    now_ns: int,
    first_line: int = 1,
) -> tuple[list[PointBatch], list[LineProtocolError]]:
    """`parse_body` with every line through the character scanner (for tests and debugging)."""
    return _parse(
        body, db=db, rp=rp, precision=precision, now_ns=now_ns, first_line=first_line, fast=False
    )
