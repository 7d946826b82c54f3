"""Request bodies within a size limit, gunzipped on the way."""

from __future__ import annotations

import gzip

import pytest

from kapacitor.api.body import BodyReader
from kapacitor.errors import BodyTooLarge, RequestError


def read(chunks: list[bytes], limit: int, gz: bool = False) -> bytes:
    reader = BodyReader(limit, gzip=gz)
    for c in chunks:
        reader.feed(c)
    return reader.finish()


def test_plain_and_gzip_bodies_up_to_the_limit() -> None:
    assert read([b"ab", b"cd"], 4) == b"abcd"
    packed = gzip.compress(b"x" * 100)
    assert read([packed[:10], packed[10:]], 100, gz=True) == b"x" * 100


def test_the_limit_applies_after_gunzip() -> None:
    with pytest.raises(BodyTooLarge, match="limit is 4 bytes"):
        read([b"abc", b"de"], 4)
    with pytest.raises(BodyTooLarge):
        read([gzip.compress(b"x" * 1000)], 100, gz=True)


def test_bad_gzip_is_a_request_error() -> None:
    with pytest.raises(RequestError, match="invalid gzip body"):
        read([b"garbage"], 100, gz=True)
