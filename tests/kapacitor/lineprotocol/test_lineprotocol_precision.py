"""One list of precisions: the decoder, the encoder and the package export all agree on it."""

from __future__ import annotations

import pytest

from kapacitor import lineprotocol
from kapacitor.errors import LineProtocolError
from kapacitor.lineprotocol import PRECISIONS, encode_point, parse_body, precision_multiplier
from kapacitor.lineprotocol.decode import parse_body_exact


def test_influxdb_1x_precisions_are_accepted() -> None:
    # What InfluxDB 1.x's /write accepts (and the README lists), plus the "ns" / "us" spellings.
    assert PRECISIONS == {
        "ns": 1,
        "n": 1,
        "u": 1_000,
        "us": 1_000,
        "ms": 1_000_000,
        "s": 1_000_000_000,
        "m": 60_000_000_000,
        "h": 3_600_000_000_000,
    }
    assert lineprotocol.PRECISIONS is PRECISIONS


@pytest.mark.parametrize("precision", sorted(PRECISIONS))
def test_every_listed_precision_works_everywhere(precision: str) -> None:
    mult = precision_multiplier(precision)
    assert mult == PRECISIONS[precision]
    line = encode_point("m", {}, {"v": 1.0}, 7 * mult, precision=precision)
    assert line == b"m v=1.0 7"
    for parse in (parse_body, parse_body_exact):
        [batch], errors = parse(line, db="d", rp="r", precision=precision, now_ns=0)
        assert errors == [] and batch.time.tolist() == [7 * mult]


@pytest.mark.parametrize("precision", ["µ", "µs", "x", "", "NS", "sec"])
def test_unlisted_precision_is_refused_everywhere(precision: str) -> None:
    assert precision not in PRECISIONS
    with pytest.raises(LineProtocolError) as info:
        precision_multiplier(precision)
    assert info.value.line == 0
    assert info.value.reason == (
        f"invalid precision {precision!r}: use one of ns, n, u, us, ms, s, m, h"
    )
    for parse in (parse_body, parse_body_exact):
        with pytest.raises(LineProtocolError, match="invalid precision"):
            parse(b"m v=1 1", db="d", rp="r", precision=precision, now_ns=0)
    with pytest.raises(LineProtocolError, match="invalid precision"):
        encode_point("m", {}, {"v": 1.0}, 1, precision=precision)
