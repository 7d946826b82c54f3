"""Recordings as line-protocol files: export, import, round trip."""

from __future__ import annotations

import numpy as np

from kapacitor.lineprotocol import parse_body
from kapacitor.model.batch import FieldType, PointBatch, decode_batch, encode_batch
from kapacitor.replay.storage import export_lines, import_lines

T0 = 1_700_000_000_000_000_000


def _parse(body: str, db: str = "telegraf", rp: str = "autogen") -> PointBatch:
    [batch], errors = parse_body(body.encode(), db=db, rp=rp, now_ns=0)
    assert errors == []
    return batch


def _same(a: PointBatch, b: PointBatch) -> bool:
    # encode_batch is canonical for equal contents (series order, columns, masks)
    return encode_batch(a) == encode_batch(b)


BATCHES = [
    _parse(
        f'cpu,host=a,dc=east usage=1.5,count=3i,up=true,msg="a \\"b\\" c" {T0}\n'
        f"cpu,host=b usage=2.0 {T0 + 1}\n"
        f"cpu,host=a,dc=east count=-7i {T0 + 2}\n"
    ),
    _parse(f"cpu,host=a usage=5i,big=18446744073709551615u {T0 + 3}\n", rp="week"),
    _parse(f"weird\\ name,tag\\=k=v\\,x f\\ 1=0.1 {T0 + 4}\n", db="other"),
]


def test_export_import_round_trip() -> None:
    data = b"".join(export_lines(BATCHES))
    batches, errors = import_lines(data, now_ns=T0)
    assert errors == []
    assert len(batches) == len(BATCHES)
    for got, want in zip(batches, BATCHES, strict=True):
        assert (got.db, got.rp) == (want.db, want.rp)
        assert _same(got, want)
    # `usage` is float in one batch and int in the other: both survive
    assert batches[0].fields["usage"].type is FieldType.FLOAT
    assert batches[1].fields["usage"].type is FieldType.INT
    assert batches[1].fields["big"].values.tolist() == [2**64 - 1]


def test_export_is_plain_line_protocol() -> None:
    data = b"".join(export_lines(BATCHES[:1]))
    assert data.startswith(b'# kapacitor-batch {"db":"telegraf","rp":"autogen"}\n')
    [batch], errors = parse_body(data, db="x", rp="y", now_ns=0)  # the header is a comment
    assert errors == [] and len(batch) == 3


def test_empty_batches_are_not_exported() -> None:
    empty = BATCHES[0].take(np.zeros(0, dtype=np.intp))
    assert list(export_lines([empty])) == []


def test_headerless_file_uses_given_db_and_rp_and_reports_bad_lines() -> None:
    data = b"cpu value=1 10\ncpu value=oops 20\n\ncpu value=3\n"
    batches, errors = import_lines(data, db="mydb", rp="myrp", now_ns=T0)
    assert [(b.db, b.rp, len(b)) for b in batches] == [("mydb", "myrp", 2)]
    assert batches[0].time.tolist() == [10, T0]
    assert [e.line for e in errors] == [2]


def test_line_numbers_count_headers_and_sections() -> None:
    data = b"".join(export_lines(BATCHES[:2]))
    lines = data.split(b"\n")
    lines[5] = b"cpu,host=a usage=bad 1"  # within the second section
    batches, errors = import_lines(b"\n".join(lines), now_ns=T0)
    assert [e.line for e in errors] == [6]
    assert len(batches) == 1


def test_large_sections_are_split() -> None:
    body = "".join(f"cpu,host=h{i % 7} value={i}i {T0 + i}\n" for i in range(2000))
    batch = _parse(body)
    data = b"".join(export_lines([batch]))
    batches, errors = import_lines(data, now_ns=T0, max_chunk_bytes=10_000)
    assert errors == []
    assert len(batches) > 5
    assert sum(len(b) for b in batches) == 2000
    assert np.concatenate([b.time for b in batches]).tolist() == batch.time.tolist()


def test_stored_batches_round_trip_too() -> None:
    for b in BATCHES:
        assert _same(decode_batch(encode_batch(b)), b)
