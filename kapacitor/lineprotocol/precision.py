"""Timestamp precisions of `/write?precision=` and NATS input, and their nanosecond multipliers.

The one list: the decoder, the encoder and the HTTP API all validate against it. InfluxDB 1.x
accepts ``n u ms s m h`` (and ``ns``); ``us`` is accepted as the spelling of ``u`` that InfluxDB
2.x and most clients use. Anything else, ``µ`` included, is an invalid precision.
"""

from __future__ import annotations

from typing import Final

from kapacitor.errors import LineProtocolError

__all__ = ["PRECISIONS", "precision_multiplier"]

PRECISIONS: Final[dict[str, int]] = {
    "ns": 1,
    "n": 1,
    "u": 1_000,
    "us": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}


def precision_multiplier(precision: str) -> int:
    """Nanoseconds per unit of `precision`; LineProtocolError (line 0) if it is not one."""
    mult = PRECISIONS.get(precision)
    if mult is None:
        raise LineProtocolError(
            0, f"invalid precision {precision!r}: use one of {', '.join(PRECISIONS)}"
        )
    return mult
