"""The wire format of a batch (kapacitor/model/batch.py): compressed past COMPRESS_FROM bytes,
read back the same either way, and the uncompressed and zlib forms of earlier releases still
read."""

from __future__ import annotations

import zlib

import msgspec
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from kapacitor import compression
from kapacitor.compression import COMPRESS_FROM, MAX_EXPANDED
from kapacitor.errors import CodecError
from kapacitor.lineprotocol.decode import parse_body
from kapacitor.model import PointBatch, decode_batch, encode_batch
from kapacitor.testing.batches import rows

_ZSTD = zstandard.ZstdCompressor()

_points = st.lists(
    st.tuples(
        st.integers(0, 50),
        st.floats(allow_nan=False, allow_infinity=False, width=64),
        st.integers(0, 2**40),
    ),
    max_size=300,
)


def _batch(points: list[tuple[int, float, int]]) -> PointBatch:
    body = "".join(f"cpu,host=h{h} v={v!r},n={h}i {t}\n" for h, v, t in points)
    [batch], errors = parse_body(body.encode(), db="telegraf", rp="autogen", now_ns=0)
    assert not errors
    return batch


@settings(max_examples=60, deadline=None)
@given(_points)
def test_a_batch_reads_back_the_same_compressed_or_not(
    points: list[tuple[int, float, int]],
) -> None:
    batch = _batch(points)
    data = encode_batch(batch)
    raw = msgspec.msgpack.encode(msgspec.msgpack.decode(_plain(data)))
    assert (data[:1] == b"\xc1") == (len(raw) >= COMPRESS_FROM)
    assert rows(decode_batch(data)) == rows(batch)


def _plain(data: bytes) -> bytes:
    return zstandard.ZstdDecompressor().decompress(data[1:]) if data[:1] == b"\xc1" else data


def test_a_batch_written_uncompressed_by_an_earlier_release_still_reads() -> None:
    batch = _batch([(h, h / 3, h) for h in range(200)])
    data = encode_batch(batch)
    assert data[:1] == b"\xc1" and len(data) < len(_plain(data)) / 3
    assert rows(decode_batch(_plain(data))) == rows(batch)
    assert rows(decode_batch(b"\xc1" + zlib.compress(_plain(data)))) == rows(batch)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\xc1" + b"not zlib", "undecodable point batch"),
        (b"\xc1" + zlib.compress(b"\x80" * 5000)[:-9], "cut short"),
        (b"\xc1" + zlib.compress(msgspec.msgpack.encode([1, 2])), "undecodable point batch"),
        (b"\xc1" + _ZSTD.compress(b"\x80" * 5000)[:-9], "undecodable point batch"),
        (b"\xc1" + _ZSTD.compress(b"\x80" * 5000) + b"junk", "undecodable point batch"),
        (b"\xc1" + _ZSTD.compress(msgspec.msgpack.encode([1, 2])), "undecodable point batch"),
    ],
    ids=[
        "garbage",
        "truncated",
        "not-a-batch",
        "zstd-truncated",
        "zstd-trailing",
        "zstd-not-a-batch",
    ],
)
def test_bad_compressed_data_is_refused_with_a_reason(data: bytes, why: str) -> None:
    with pytest.raises(CodecError, match=why):
        decode_batch(data)


def test_a_batch_that_would_expand_past_the_limit_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(compression, "MAX_EXPANDED", 1024**2)
    big = b"\x00" * (1024**2 + 1)
    for bomb in (zlib.compress(big, 9), _ZSTD.compress(big)):
        with pytest.raises(CodecError, match="expands past 1048576 bytes"):
            decode_batch(b"\xc1" + bomb)
    unsized = _ZSTD.compressobj()  # no stated size, hence no bound known before expanding
    with pytest.raises(CodecError, match="does not state its size"):
        decode_batch(b"\xc1" + unsized.compress(b"\x00" * 10) + unsized.flush())
    assert MAX_EXPANDED > 1024**2
