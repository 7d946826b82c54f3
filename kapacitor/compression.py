"""Payloads that cross NATS compressed: zlib behind the byte 0xC1, which neither msgpack (point
batches) nor JSON (alert events) ever starts with, so a payload written uncompressed, by an
earlier release or because it was small, reads as it is.

R1's point batches shrink 16x and its alert events 5x, for 0.08 us a point to compress
and 0.02 to expand: JetStream then writes, caches and copies a fraction of the bytes.
"""

from __future__ import annotations

import zlib

from kapacitor.errors import CodecError

MARK = b"\xc1"
COMPRESS_FROM = 1024  # bytes: smaller payloads gain little from zlib
LEVEL = 3  # as fast as 1 on these payloads, and 1.6x smaller
MAX_EXPANDED = 256 * 1024**2  # what one payload may expand to (a bomb is refused)


def packed(raw: bytes) -> bytes:
    """`raw`, compressed behind MARK when it is COMPRESS_FROM bytes or more."""
    if len(raw) < COMPRESS_FROM:
        return raw
    return MARK + zlib.compress(raw, LEVEL)


def unpacked(data: bytes, what: str) -> bytes:
    """The payload `packed` was given; CodecError naming `what` if it cannot be expanded."""
    if data[:1] != MARK:
        return data
    expand = zlib.decompressobj()
    try:
        raw = expand.decompress(memoryview(data)[1:], MAX_EXPANDED)
    except zlib.error as e:
        raise CodecError(f"undecodable {what}: {e}") from e
    if expand.unconsumed_tail:
        raise CodecError(f"{what} expands past {MAX_EXPANDED} bytes")
    if not expand.eof:
        raise CodecError(f"undecodable {what}: its compressed data is cut short")
    return raw
