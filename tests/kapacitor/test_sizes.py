"""Byte counts as go-humanize writes them (kapacitor/sizes.py)."""

from __future__ import annotations

import pytest

from kapacitor.sizes import format_bytes


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (9.5, "9 B"),
        (12_345, "12 kB"),
        (999_999.9999999999, "1000 kB"),  # log10 rounds this up to 6: the unit is compared
        (1_000_000, "1.0 MB"),
        (-2_500_000, "-2.5 MB"),
    ],
)
def test_format_bytes(n: float, text: str) -> None:
    assert format_bytes(n) == text
