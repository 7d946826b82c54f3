"""`split_body`: chunks at line boundaries, true first-line numbers, quoted newlines kept whole."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kapacitor.lineprotocol import parse_body, split_body


def _parse_chunked(body: bytes, max_bytes: int) -> tuple[list[int], list[tuple[int, str]]]:
    times: list[int] = []
    errors: list[tuple[int, str]] = []
    for first, chunk in split_body(body, max_bytes):
        [batch], errs = parse_body(chunk, db="d", rp="r", now_ns=0, first_line=first)
        times += batch.time.tolist()
        errors += [(e.line, e.reason) for e in errs]
    return times, errors


def test_split_sizes_and_line_numbers() -> None:
    body = b"\n".join(b"m v=%d %d" % (i, i) for i in range(100))
    chunks = split_body(body, 50)
    assert all(len(c) <= 50 for _, c in chunks)
    assert b"\n".join(c for _, c in chunks) == body
    assert chunks[0][0] == 1
    for first, chunk in chunks:
        assert chunk.split(b"\n")[0] == b"m v=%d %d" % (first - 1, first - 1)


def test_long_line_is_its_own_chunk() -> None:
    body = b"a v=1 1\n" + b'b s="' + b"x" * 100 + b'" 2\nc v=1 3'
    chunks = split_body(body, 20)
    assert [first for first, _ in chunks] == [1, 2, 3]
    assert chunks[1][1].startswith(b"b s=")


def test_quoted_newline_is_not_a_split_point() -> None:
    body = b'a v=1 1\nb s="x\ny\nz" 2\nc v=1 3\n'
    for max_bytes in range(1, len(body) + 2):
        chunks = split_body(body, max_bytes)
        assert all(b'"x\ny\nz"' in c for _, c in chunks if b's="' in c)
        assert _parse_chunked(body, max_bytes) == ([1, 2, 3], [])


def test_errors_keep_true_line_numbers() -> None:
    body = b"\n".join([b"m v=1 1", b"bad", b"m v=2 2", b"# c", b"", b"m v=x 3", b"m v=3 4"])
    assert _parse_chunked(body, 10) == (
        [1, 2, 4],
        [(2, "missing fields"), (6, "invalid float 'x' for field 'v'")],
    )


def test_empty_body() -> None:
    assert split_body(b"", 10) == []
    assert split_body(b"\n\n", 10) == []


_line = st.sampled_from(
    [b"m v=1 1", b'm s="a\nb" 2', b'm s="x', b"bad", b"", b"# c", b'm s="\\"\n" 3', b"m v=2 4\r"]
)


# cheap per example: many chunk boundaries to cover
@settings(max_examples=settings.default.max_examples * 3)
@given(st.lists(_line, max_size=12), st.integers(1, 40))
def test_chunked_parse_equals_whole_parse(lines: list[bytes], max_bytes: int) -> None:
    # Same points, same error lines; the reason for a stray quote may differ, since the whole
    # body lets the scanner look further ahead than a chunk does.
    body = b"\n".join(lines)
    [batch], errors = parse_body(body, db="d", rp="r", now_ns=0)
    times, chunk_errors = _parse_chunked(body, max_bytes)
    assert times == batch.time.tolist()
    assert [line for line, _ in chunk_errors] == [e.line for e in errors]
