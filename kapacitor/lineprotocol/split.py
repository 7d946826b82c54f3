"""Splitting a large line-protocol body into chunks that can be parsed independently.

Chunks end at line boundaries, never inside a point: a quoted string value holding newlines
keeps its lines together, decided by the same scanner `parse_body` uses.
"""

from __future__ import annotations

import bisect

from kapacitor.lineprotocol.scan import scan_point
from kapacitor.lineprotocol.validate import LineError


def _multiline_spans(body: bytes) -> list[tuple[int, int]]:
    """(start, end) offsets of points spanning several lines; newlines inside are not splits."""
    spans: list[tuple[int, int]] = []
    lines = body.split(b"\n")
    offset = 0
    skip = 0
    for i, line in enumerate(lines):
        start = offset
        offset += len(line) + 1
        if i < skip or 34 not in line:
            continue
        try:
            used, _ = scan_point(lines, i)
        except LineError:
            continue
        if used > 1:
            skip = i + used
            end = start + sum(len(ln) + 1 for ln in lines[i : i + used]) - 1
            spans.append((start, end))
    return spans


def split_body(body: bytes, max_bytes: int) -> list[tuple[int, bytes]]:
    """Chunks of at most `max_bytes` (a longer point is a chunk alone), with their first line.

    The first line number is 1-based within `body`; pass it as `first_line` to `parse_body`.
    """
    if max_bytes < 1:
        raise ValueError("max_bytes must be positive")
    spans = _multiline_spans(body) if b'"' in body else []
    span_starts = [s for s, _ in spans]
    chunks: list[tuple[int, bytes]] = []
    n = len(body)
    start = 0
    line_no = 1
    while start < n:
        if n - start <= max_bytes:
            end = n
        else:
            end = body.rfind(b"\n", start, start + max_bytes + 1)
            end = _outside_spans(end, start, spans, span_starts)
            if end < start:
                end = body.find(b"\n", start + max_bytes)
                end = _after_spans(end, spans, span_starts)
                if end < 0:
                    end = n
        chunk = body[start:end]  # the body itself when it is one chunk (no copy)
        if chunk and not chunk.isspace():
            chunks.append((line_no, chunk))
        if end < n:
            line_no += chunk.count(b"\n") + 1
        start = end + 1
    return chunks


def _span_at(pos: int, spans: list[tuple[int, int]], starts: list[int]) -> tuple[int, int] | None:
    k = bisect.bisect_right(starts, pos) - 1
    if k >= 0 and spans[k][0] < pos < spans[k][1]:
        return spans[k]
    return None


def _outside_spans(cut: int, start: int, spans: list[tuple[int, int]], starts: list[int]) -> int:
    """The last split point at or before `cut` that is not inside a multi-line point."""
    while cut >= start:
        span = _span_at(cut, spans, starts)
        if span is None:
            return cut
        cut = span[0] - 1
    return -1


def _after_spans(cut: int, spans: list[tuple[int, int]], starts: list[int]) -> int:
    """The first split point at or after `cut` that is not inside a multi-line point."""
    while cut >= 0:
        span = _span_at(cut, spans, starts)
        if span is None:
            return cut
        cut = span[1]
    return cut
