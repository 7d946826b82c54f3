"""Ingest's domain: a write parsed chunk by chunk into batches with ids, and its outcome."""

from __future__ import annotations

import secrets

import pytest

from kapacitor.bus import subjects
from kapacitor.errors import RequestError
from kapacitor.ingest import MAX_ERRORS_REPORTED, Write, check_write_params
from kapacitor.model import decode_batch


def test_write_params() -> None:
    check_write_params("db", "ms")
    with pytest.raises(RequestError, match=r"database is required: add \?db=NAME"):
        check_write_params("", "ns")
    with pytest.raises(RequestError, match="invalid precision 'fortnight'"):
        check_write_params("db", "fortnight")


def test_chunks_become_batches_with_ids_of_their_own() -> None:
    w = Write("d", "r", "s", now_ns=42_000_000_000)
    w.add_chunk(b"cpu v=1 1\ncpu v=2 2\n", 1)
    w.add_chunk(b"cpu v=3\n", 3)
    assert w.outcome() == 3
    assert [m.subject for m in w.messages] == [subjects.POINTS_IN] * 2
    ids = [m.msg_id for m in w.messages]
    assert ids == [f"w.{w.write_id}.0", f"w.{w.write_id}.1"]
    assert Write("d", "r", "s", 0).write_id != w.write_id
    first, second = (decode_batch(m.data) for m in w.messages)
    assert (first.db, first.rp, first.time.tolist()) == ("d", "r", [1_000_000_000, 2_000_000_000])
    assert second.time.tolist() == [42_000_000_000]  # no timestamp: the write's time


def test_bad_lines_are_named_by_their_line_in_the_whole_body() -> None:
    w = Write("d", "r", "ns", now_ns=0)
    w.add_chunk(b"cpu v=1 1\n", 1)
    w.add_chunk(b"cpu v=\ncpu v=2 2\ncpu,x v=1 1\n", 2)
    w.add_chunk(b"\n", 5)
    assert w.accepted == 2
    with pytest.raises(RequestError) as partial:
        w.outcome()
    assert str(partial.value).startswith("partial write: line 2: ")
    assert str(partial.value).endswith(" (and 1 more bad lines); 2 points accepted")
    details = partial.value.details
    assert (details["accepted"], details["rejected"]) == (2, 2)
    assert [e["line"] for e in details["errors"]] == [2, 4]


def test_a_write_with_only_bad_lines_stores_nothing() -> None:
    w = Write("d", "r", "ns", now_ns=0)
    w.add_chunk(b"cpu v=\n", 1)
    assert w.messages == []
    with pytest.raises(RequestError, match="0 points accepted"):
        w.outcome()


def test_a_body_of_bad_lines_keeps_only_the_reported_errors() -> None:
    w = Write("d", "r", "ns", now_ns=0)
    w.add_chunk(b"cpu v=\n" * 150, 1)
    w.add_chunk(b"cpu v=\n" * 50, 151)
    assert (w.rejected, len(w.errors)) == (200, MAX_ERRORS_REPORTED)
    with pytest.raises(RequestError, match=r"line 1: .* \(and 199 more bad lines\)") as partial:
        w.outcome()
    assert partial.value.details["rejected"] == 200
    assert len(partial.value.details["errors"]) == MAX_ERRORS_REPORTED


def test_a_field_of_several_types_across_measurements_is_accepted_whole() -> None:
    write = Write(db="telegraf", rp="autogen", precision="ns", now_ns=0)
    write.add_chunk(b'conf_a value=1i 1\nconf_b value=2.5 2\nconf_c value="s" 3\nconf_d value=t 4')
    assert write.outcome() == 4
    assert len({m.msg_id for m in write.messages}) == len(write.messages) == 4


def test_a_field_of_two_types_within_a_measurement_refuses_the_whole_write() -> None:
    write = Write(db="telegraf", rp="autogen", precision="ns", now_ns=0)
    write.add_chunk(b"other v=1i 1\nm v=1 2\nm v=2i 3\n")
    write.add_chunk(b"m w=1 4\n", first_line=4)  # nor is a later chunk kept
    assert write.messages == []
    with pytest.raises(RequestError, match="line 3: field type conflict: 'v' of measurement 'm'"):
        write.outcome()


def test_batches_over_the_largest_message_are_halved_and_a_point_too_big_is_a_line_error() -> None:
    body = "".join(f"cpu,host=h{i} value={i}.5 {i}\n" for i in range(400)).encode()
    w = Write("db", "rp", "ns", 0, max_message=2_000)
    w.add_chunk(body)
    assert len(w.messages) >= 2 and all(len(m.data) <= 2_000 for m in w.messages)
    assert w.outcome() == 400
    stored = [decode_batch(m.data) for m in w.messages]
    assert sorted(int(t) for b in stored for t in b.time) == list(range(400))

    big = Write("db", "rp", "ns", 0, max_message=2_000)
    big.add_chunk(b'm s="' + secrets.token_urlsafe(4_000).encode() + b'" 1\n', first_line=7)
    with pytest.raises(RequestError, match=r"line 7: point too large to store: [\d,]+ bytes"):
        big.outcome()
    assert big.messages == []
