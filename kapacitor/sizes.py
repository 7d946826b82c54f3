"""Sizes for people: a number of bytes as go-humanize's `Bytes` (and Kapacitor's humanBytes)
writes it, in SI units: "9 B", "1.5 kB", "83 MB"."""

from __future__ import annotations

import math

_SI = ("B", "kB", "MB", "GB", "TB", "PB", "EB")


def format_bytes(n: float) -> str:
    """`n` bytes: whole bytes below 10, else one decimal below 10 of a unit."""
    if not math.isfinite(n):
        return str(n)
    sign, n = ("-", -n) if n < 0 else ("", n)
    if n < 10:
        return f"{sign}{int(n)} B"
    e = 0  # compared, not log10(n) // 3: that rounds 999999.9999999999 up to 6 digits
    while e < len(_SI) - 1 and n >= 1000 ** (e + 1):
        e += 1
    value = math.floor(n / 1000**e * 10 + 0.5) / 10
    return f"{sign}{value:.0f} {_SI[e]}" if value >= 10 else f"{sign}{value:.1f} {_SI[e]}"
