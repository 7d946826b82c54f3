"""The compiled uniform-body scan agrees with the exact scanner on every body, and takes the
uniform ones itself."""

from __future__ import annotations

import math
import random
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_UP, Decimal, localcontext

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapacitor.lineprotocol import parse_body
from kapacitor.lineprotocol.decode import parse_body_exact
from kapacitor.lineprotocol.precision import precision_multiplier
from kapacitor.lineprotocol.uniform import COMPILED, parse_uniform
from kapacitor.model.batch import FieldType, SeriesKey
from kapacitor.testing.batches import assert_same_parse as assert_same

NOW = 1_700_000_000_123_456_789

_KEYS = [
    b"cpu,host=a,region=x",
    b"cpu,region=x,host=a",  # the same series spelled in another tag order
    b"cpu,host=b",
    b"cpu",
    b"mem,host=a",
    b"cpu,host=a=b",
    b"cpu,,host=a",
    b"cpu,host=",
    b"\xff,host=a",
    b"#cpu",
]
_FLOATS = st.floats(allow_nan=False, allow_infinity=False).map(lambda f: repr(f).encode())
_INTS = st.integers(-(2**64), 2**64).map(lambda i: b"%di" % i)
_UINTS = st.integers(-5, 2**65).map(lambda i: b"%du" % i)
_JUNK = st.lists(st.sampled_from(list(b'0123456789.eE+-iu_xtf\t"\\=, ')), max_size=6).map(bytes)
_VALUES = st.one_of(_FLOATS, _INTS, _UINTS, _JUNK, st.sampled_from([b"1", b"1.", b".5", b"1e3"]))
_STAMPS = st.one_of(
    st.integers(-(2**63), 2**63).map(lambda t: b"%d" % t),
    st.sampled_from([b"", b"-", b"1.5", b"0x1", b"00012"]),
)


@st.composite
def bodies(draw: st.DrawFn, valid_only: bool) -> bytes:
    """Bodies that are uniform or nearly so: one field layout, shared by most lines."""
    choices = [b"a", b"b", b"usage_idle"] + ([] if valid_only else [b"x y"])
    names = draw(st.lists(st.sampled_from(choices), min_size=1, max_size=3, unique=valid_only))
    kinds = [draw(st.sampled_from(["f", "i", "u"])) for _ in names]
    n = draw(st.integers(1, 8))
    lines = []
    for _ in range(n):
        key = draw(st.sampled_from(_KEYS[:4] if valid_only else _KEYS))
        fields = []
        for name, kind in zip(names, kinds, strict=True):
            if valid_only:
                value = draw(
                    {
                        "f": _FLOATS,
                        "i": st.integers(-(2**63), 2**63 - 1).map(lambda i: b"%di" % i),
                        "u": st.integers(0, 2**64 - 1).map(lambda i: b"%du" % i),
                    }[kind]
                )
            else:
                value = draw(_VALUES)
            fields.append(name + b"=" + value)
        stamps = st.integers(-(2**31), 2**31).map(lambda t: b"%d" % t)
        stamp = draw(stamps if valid_only else _STAMPS)
        line = key + b" " + b",".join(fields) + b" " + stamp
        if not valid_only:
            line = draw(st.sampled_from([line, line, line, line + b" ", b"#" + line, b""]))
        lines.append(line)
    ending = draw(
        st.sampled_from([b"", b"\n"])
        if valid_only
        else st.sampled_from([b"", b"\n", b"\n\n", b"\r\n"])
    )
    return b"\n".join(lines) + ending


def test_the_compiled_scan_is_built() -> None:
    assert COMPILED, "kapacitor/lineprotocol/_uniform.c was not compiled (pip install -e .)"


@settings(max_examples=settings.default.max_examples * 5)
@given(bodies(valid_only=False), st.sampled_from(["ns", "s", "h"]))
def test_agrees_with_the_exact_scanner(body: bytes, precision: str) -> None:
    kw = {"db": "db", "rp": "rp", "precision": precision, "now_ns": NOW}
    assert_same(parse_body(body, **kw), parse_body_exact(body, **kw))


@given(bodies(valid_only=True), st.sampled_from(["ns", "u", "s"]))
def test_takes_uniform_bodies_itself(body: bytes, precision: str) -> None:
    batch = parse_uniform(body, db="db", rp="rp", mult=precision_multiplier(precision))
    assert batch is not None
    assert_same(
        ([batch], []), parse_body_exact(body, db="db", rp="rp", precision=precision, now_ns=NOW)
    )


def test_series_spelled_two_ways_share_one_id() -> None:
    body = b"cpu,a=1,b=2 v=1 1\ncpu,b=2,a=1 v=2 2\ncpu,a=2 v=3 3\n"
    batch = parse_uniform(body, db="db", rp="rp", mult=1)
    assert batch is not None
    assert batch.series == [
        SeriesKey("cpu", (("a", "1"), ("b", "2"))),
        SeriesKey("cpu", (("a", "2"),)),
    ]
    assert batch.series_idx.tolist() == [0, 0, 1]
    assert batch.fields["v"].type is FieldType.FLOAT


def test_columns_are_typed_and_writable() -> None:
    body = b"m a=1.5,b=-3i,c=7u 10\nm a=2,b=4i,c=8u 20\n"
    batch = parse_uniform(body, db="db", rp="rp", mult=1_000)
    assert batch is not None
    assert batch.time.tolist() == [10_000, 20_000]
    assert batch.fields["a"].values.dtype == np.float64
    assert batch.fields["b"].values.tolist() == [-3, 4]
    assert batch.fields["c"].values.dtype == np.uint64
    batch.fields["a"].values[0] = 0.0  # the arrays own their memory: operators may reuse it


@pytest.mark.parametrize(
    "body",
    [
        b"m a=1 1\nm b=1 2\n",  # another field name
        b"m a=1 1\nm a=1,b=2 2\n",  # another field count
        b"m a=1,a=2 1\n",  # a field twice
        b"m a=1i 1\nm a=1 2\n",  # another type
        b"m a=1 1\nm a=1",  # no timestamp
        b"m a=" + b"1" * 80 + b" 1\n",  # a float token too long for the scan
        b"m a=1 9223372036854775807\n",  # past the last valid timestamp
        b"m a=9223372036854775808i 1\n",  # past int64
        b"m a=18446744073709551616u 1\n",  # past uint64
        b"m a=1e999 1\n",  # not finite
        b"m a=+1 1\n",
        b"m a=true 1\n",
        b'm a="x" 1\n',
    ],
)
def test_leaves_other_bodies_to_the_per_line_pass(body: bytes) -> None:
    assert parse_uniform(body, db="db", rp="rp", mult=1) is None
    kw = {"db": "db", "rp": "rp", "now_ns": NOW}
    assert_same(parse_body(body, **kw), parse_body_exact(body, **kw))


@st.composite
def decimals(draw: st.DrawFn) -> bytes:
    """Plain decimals as agents print them: sign, up to 21 digits, a point anywhere."""
    digits = draw(st.text("0123456789", min_size=0, max_size=21))
    point = draw(st.integers(0, len(digits)))
    dot = draw(st.booleans())
    sign = draw(st.sampled_from(["", "-"]))
    return (sign + digits[:point] + ("." if dot else "") + digits[point:]).encode()


@settings(max_examples=settings.default.max_examples * 10)
@given(decimals())
def test_plain_decimals_read_as_float_reads_them(token: bytes) -> None:
    batch = parse_uniform(b"m v=" + token + b" 1", db="db", rp="rp", mult=1)
    try:
        expected = float(token)
    except ValueError:
        assert batch is None
        return
    assert batch is not None
    got = batch.fields["v"].values[0]
    assert np.float64(expected).tobytes() == got.tobytes()  # bit for bit: -0.0 too


def _near_halfway(rng: random.Random) -> str:
    """A 16-19 digit decimal close to the midpoint of two adjacent doubles: where rounding
    twice (to 64 bits, then to 53) could go wrong."""
    x = rng.uniform(1e-3, 1e6)
    mid = (Decimal(x) + Decimal(math.nextafter(x, math.inf))) / 2
    digits = rng.randint(16, 19)
    with localcontext() as ctx:
        ctx.prec = digits
        ctx.rounding = rng.choice([ROUND_DOWN, ROUND_UP, ROUND_HALF_EVEN])
        near = +mid
    return f"{near:f}"


def test_long_decimals_round_as_float_does_even_next_to_a_halfway_point() -> None:
    rng = random.Random(10)
    tokens = [_near_halfway(rng) for _ in range(20_000)]
    tokens += [repr(rng.uniform(0, 100)) for _ in range(20_000)]  # 17 digits, as agents print
    body = b"\n".join(b"m v=%s 1" % t.encode() for t in tokens)
    batch = parse_uniform(body, db="db", rp="rp", mult=1)
    assert batch is not None
    expected = np.array([float(t) for t in tokens])
    assert batch.fields["v"].values.tobytes() == expected.tobytes()
