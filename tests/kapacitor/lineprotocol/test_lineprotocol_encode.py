"""Encoder cases and property tests: decode(encode(p)) == p, fast path == scanner, no crashes."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapacitor.errors import LineProtocolError
from kapacitor.lineprotocol import (
    Unsigned,
    encode_batch_lines,
    encode_point,
    parse_body,
    split_body,
)
from kapacitor.lineprotocol.decode import parse_body_exact
from kapacitor.lineprotocol.encode import _encode_key
from kapacitor.lineprotocol.scan import parse_key
from kapacitor.model.batch import FieldType, SeriesKey
from kapacitor.testing.batches import Row, rows

F, I, U, B, S = FieldType.FLOAT, FieldType.INT, FieldType.UINT, FieldType.BOOL, FieldType.STRING  # noqa: E741


def test_encode_point_basic() -> None:
    fields = {"v": 1.5, "i": 3, "u": Unsigned(4), "b": True, "s": 'a"b'}
    line = encode_point("my cpu", {"z": "1", "a": "x,y"}, fields, 7)
    assert line == b'my\\ cpu,a=x\\,y,z=1 v=1.5,i=3i,u=4u,b=true,s="a\\"b" 7'


def test_encode_point_precision_and_no_time() -> None:
    assert encode_point("m", {}, {"v": 1.0}, 5_999_999_999, precision="s") == b"m v=1.0 5"
    assert encode_point("m", [], {"v": np.uint64(3), "w": np.int32(2)}) == b"m v=3u,w=2i"


@pytest.mark.parametrize(
    ("measurement", "tags", "fields"),
    [
        ("", {}, {"v": 1}),
        ("m\\", {}, {"v": 1}),
        ("#m", {}, {"v": 1}),
        ("\tm", {}, {"v": 1}),
        ("m", {"t": ""}, {"v": 1}),
        ("m", {"t": "a\nb"}, {"v": 1}),
        ("m", {}, {}),
        ("m", {}, {"v": math.nan}),
        ("m", {}, {"v": math.inf}),
        ("m", {}, {"v": object()}),
        ("m", {}, {"\ud800": 1}),
    ],
)
def test_encode_point_unrepresentable(
    measurement: str, tags: dict[str, str], fields: dict[str, Any]
) -> None:
    with pytest.raises(LineProtocolError, match="cannot encode"):
        encode_point(measurement, tags, fields, 1)


def test_encode_batch_lines_roundtrip_with_absent_fields() -> None:
    body = b'cpu,host=a v=1.5,s="x y" 10\ncpu,host=b w=2i 20\nmem u=3u,b=f 30\n'
    [batch], errors = parse_body(body, db="d", rp="r", now_ns=0)
    assert not errors
    out = encode_batch_lines(batch)
    assert out == b'cpu,host=a v=1.5,s="x y" 10\ncpu,host=b w=2i 20\nmem u=3u,b=false 30\n'
    assert encode_batch_lines(batch, precision="ns") == out
    [again], _ = parse_body(out, db="d", rp="r", now_ns=0)
    assert rows(again) == rows(batch)


def test_encode_batch_lines_precision() -> None:
    [batch], _ = parse_body(b"m v=1 5000000000", db="d", rp="r", now_ns=0)
    assert encode_batch_lines(batch, precision="s") == b"m v=1.0 5\n"


# --- generated points --------------------------------------------------------------------

# Names mix plain letters with every character that needs escaping or is otherwise awkward.
_ALPHABET = st.sampled_from([*"abcxyzAZ09_-.é😀", ",", " ", "=", '"', "\\", "#", "\t", "'"])
_name = st.text(_ALPHABET, min_size=1, max_size=8).filter(
    lambda s: not s.endswith("\\") and s[0] not in "#\t"
)
_string = st.lists(
    st.characters(blacklist_categories=("Cs",)) | st.sampled_from(['"', "\\", "\n", "\r\n", ","]),
    max_size=12,
).map("".join)
_float = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def points(draw: st.DrawFn) -> list[Row]:
    types = draw(st.dictionaries(_name, st.sampled_from(list(FieldType)), min_size=1, max_size=5))
    names = list(types)
    out = []
    for _ in range(draw(st.integers(1, 6))):
        keys = draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
        fields: dict[str, tuple[FieldType, Any]] = {}
        for k in keys:
            t = types[k]
            v: Any = {
                F: _float,
                I: st.integers(-(2**63), 2**63 - 1),
                U: st.integers(0, 2**64 - 1),
                B: st.booleans(),
                S: _string,
            }[t]
            fields[k] = (t, draw(v))
        tags = draw(st.dictionaries(_name, _name, max_size=3))
        sk = SeriesKey(draw(_name), tuple(sorted(tags.items())))
        out.append((sk, draw(st.integers(-(2**62), 2**62)), fields))
    return out


def _encode_rows(rs: list[Row]) -> bytes:
    lines = []
    for sk, t, fields in rs:
        vals = {k: Unsigned(v) if ft is U else v for k, (ft, v) in fields.items()}
        lines.append(encode_point(sk.measurement, sk.tags, vals, t))
    return b"\n".join(lines)


# cheap per example: many row shapes to cover
@settings(max_examples=settings.default.max_examples * 3)
@given(points())
def test_roundtrip(rs: list[Row]) -> None:
    body = _encode_rows(rs)
    [batch], errors = parse_body(body, db="d", rp="r", now_ns=0)
    assert errors == []
    assert rows(batch) == rs
    assert rows(parse_body_exact(body, db="d", rp="r", now_ns=0)[0][0]) == rs
    [again], errors = parse_body(encode_batch_lines(batch), db="d", rp="r", now_ns=0)
    assert errors == [] and rows(again) == rs


def _same(body: bytes, **kw: Any) -> None:
    fast, fe = parse_body(body, db="d", rp="r", now_ns=1_000_000_007, **kw)
    exact, ee = parse_body_exact(body, db="d", rp="r", now_ns=1_000_000_007, **kw)
    assert [(e.line, e.reason) for e in fe] == [(e.line, e.reason) for e in ee]
    assert [rows(b) for b in fast] == [rows(b) for b in exact]
    assert [b.series for b in fast] == [b.series for b in exact]


# Line fragments, plausible and broken, glued together into many-line bodies.
_token = st.sampled_from(
    [b"cpu", b"mem", b",", b" ", b"=", b"host", b"h1", b"1", b"-1.5", b"1e5", b"2i", b"3u", b"t",
     b"false", b'"s"', b'"a b"', b"\\", b"\\ ", b"x", b"\n", b"\r\n", b"#", b"1700", b"nan", b"_",
     b"+", b".", b"\t", b"v=1", b"w=2i", b" 12", b"9223372036854775808", b"1e400", b'"', b"\xc3"]
)  # fmt: skip


# cheap per example: byte-level input needs many tries
@settings(max_examples=settings.default.max_examples * 5)
@given(st.lists(_token, max_size=40), st.sampled_from(["ns", "s", "h"]))
def test_fast_path_matches_scanner(tokens: list[bytes], precision: str) -> None:
    _same(b"".join(tokens), precision=precision)


# cheap per example: many mutations to cover
@settings(max_examples=settings.default.max_examples * 2)
@given(points(), st.lists(st.tuples(st.integers(0, 50), _token), max_size=3))
def test_fast_path_matches_scanner_on_mutated_points(
    rs: list[Row], edits: list[tuple[int, bytes]]
) -> None:
    body = bytearray(_encode_rows(rs))
    for pos, tok in edits:
        body[pos:pos] = tok
    _same(bytes(body))


# cheap per example: byte-level input needs many tries
@settings(max_examples=settings.default.max_examples * 5)
@given(st.binary(max_size=200), st.sampled_from(["ns", "ms", "h"]))
def test_random_bytes_never_raise(body: bytes, precision: str) -> None:
    _, errors = parse_body(body, db="d", rp="r", precision=precision, now_ns=0)
    assert all(isinstance(e, LineProtocolError) and e.line >= 1 for e in errors)
    for _, chunk in split_body(body, 16):
        parse_body(chunk, db="d", rp="r", now_ns=0)


@settings(max_examples=200, deadline=None)
@given(
    measurement=_name,
    tags=st.dictionaries(_name, _name.filter(lambda v: v.strip() == v), max_size=3),
)
def test_a_series_key_reads_back_as_its_measurement_and_tags(
    measurement: str, tags: dict[str, str]
) -> None:
    key = parse_key(_encode_key(measurement, sorted(tags.items())))
    assert (key.measurement, dict(key.tags)) == (measurement, tags)
