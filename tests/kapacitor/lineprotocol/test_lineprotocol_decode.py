"""Explicit cases for every line-protocol syntax rule and error reason of `parse_body`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from kapacitor.errors import LineProtocolError
from kapacitor.lineprotocol import parse_body
from kapacitor.lineprotocol.decode import parse_body_exact
from kapacitor.model.batch import FieldType, PointBatch, SeriesKey
from kapacitor.testing.batches import assert_same_parse as assert_same
from kapacitor.testing.batches import rows

NOW = 1_700_000_000_123_456_789


def conflict(field: str, measurement: str, was: str, got: str) -> str:
    return (
        f"field type conflict: {field!r} of measurement {measurement!r} is {was} earlier in "
        f"this request, got {got}"
    )


def parse_all(body: bytes, **kw: Any) -> tuple[list[PointBatch], list[LineProtocolError]]:
    kw.setdefault("now_ns", NOW)
    fast = parse_body(body, db="db", rp="rp", **kw)
    exact = parse_body_exact(body, db="db", rp="rp", **kw)
    assert_same(fast, exact)
    return fast


def parse(body: bytes, **kw: Any) -> tuple[PointBatch, list[LineProtocolError]]:
    """The one batch of a body whose field types agree across measurements."""
    [batch], errors = parse_all(body, **kw)
    return batch, errors


def one(line: bytes, **kw: Any) -> tuple[SeriesKey, int, dict[str, tuple[FieldType, Any]]]:
    batch, errors = parse(line, **kw)
    assert errors == []
    (row,) = rows(batch)
    return row


def error(line: bytes, **kw: Any) -> str:
    batch, errors = parse(line, **kw)
    assert len(batch) == 0
    (err,) = errors
    assert err.line == 1
    return err.reason


F, I, U, B, S = FieldType.FLOAT, FieldType.INT, FieldType.UINT, FieldType.BOOL, FieldType.STRING  # noqa: E741


# --- structure ---------------------------------------------------------------------------


def test_simple_point() -> None:
    sk, t, f = one(b"cpu,host=h12,region=r2 usage_idle=55.5,usage_user=12.25 1700000000000000000")
    assert sk == SeriesKey("cpu", (("host", "h12"), ("region", "r2")))
    assert t == 1700000000000000000
    assert f == {"usage_idle": (F, 55.5), "usage_user": (F, 12.25)}


def test_tags_sorted_by_key() -> None:
    sk, _, _ = one(b"cpu,z=1,a=2,m=3 v=1 1")
    assert sk.tags == (("a", "2"), ("m", "3"), ("z", "1"))


def test_same_series_any_tag_order() -> None:
    batch, errors = parse(b"cpu,b=1,a=2 v=1 1\ncpu,a=2,b=1 v=2 2")
    assert not errors
    assert len(batch.series) == 1
    assert batch.series_idx.tolist() == [0, 0]


def test_no_tags() -> None:
    sk, _, _ = one(b"cpu v=1 1")
    assert sk == SeriesKey("cpu")


def test_leading_whitespace_and_extra_spaces() -> None:
    sk, t, f = one(b" \t cpu,host=a   v=1   5   ")
    assert sk == SeriesKey("cpu", (("host", "a"),))
    assert (t, f) == (5, {"v": (F, 1.0)})


def test_trailing_space_without_timestamp() -> None:
    _, t, _ = one(b"cpu v=1 ")
    assert t == NOW


def test_blank_and_comment_lines_and_crlf() -> None:
    body = b"# comment\r\n\r\ncpu v=1 1\r\n   \n  # indented comment\ncpu v=2 2\r\n"
    batch, errors = parse(body)
    assert not errors
    assert batch.time.tolist() == [1, 2]
    assert batch.fields["v"].values.tolist() == [1.0, 2.0]


def test_empty_body() -> None:
    batch, errors = parse(b"")
    assert len(batch) == 0 and errors == [] and batch.series == []


def test_measurement_may_contain_equals_and_quote() -> None:
    sk, _, _ = one(b'a=b"c v=1 1')
    assert sk.measurement == 'a=b"c'


# --- escapes -----------------------------------------------------------------------------


def test_measurement_escapes() -> None:
    sk, _, _ = one(b"my\\ cpu\\,x v=1 1")
    assert sk.measurement == "my cpu,x"


def test_tag_escapes() -> None:
    sk, _, _ = one(b"cpu,ho\\ st\\=x=a\\,b\\ c\\=d v=1 1")
    assert sk.tags == (("ho st=x", "a,b c=d"),)


def test_backslash_not_before_special_is_literal() -> None:
    sk, _, _ = one(b"cpu,path=C:\\dir\\\\x v=1 1")
    assert sk.tags == (("path", "C:\\dir\\\\x"),)


def test_backslash_backslash_comma_is_backslash_comma() -> None:
    sk, _, _ = one(b"cpu,t=a\\\\,b v=1 1")
    assert sk.tags == (("t", "a\\,b"),)


def test_quote_escape_only_in_measurement_and_field_keys() -> None:
    sk, _, f = one(b'c\\"pu,t=a\\"b f\\"k=1 1')
    assert sk.measurement == 'c"pu'
    assert sk.tags == (("t", 'a\\"b'),)
    assert f == {'f"k': (F, 1.0)}


def test_field_key_escapes() -> None:
    _, _, f = one(b"cpu a\\ b\\,c\\=d=1 1")
    assert f == {"a b,c=d": (F, 1.0)}


def test_string_values() -> None:
    _, _, f = one(b'cpu s="a b,c=d",e="",q="say \\"hi\\"",bs="a\\\\b",o="x\\ny" 1')
    assert f == {
        "s": (S, "a b,c=d"),
        "e": (S, ""),
        "q": (S, 'say "hi"'),
        "bs": (S, "a\\b"),
        "o": (S, "x\\ny"),
    }


def test_string_value_with_raw_newline() -> None:
    body = b'cpu s="line1\nline2\r\nline3" 1\ncpu v=1 2\nbad'
    batch, errors = parse(body)
    assert rows(batch)[0][2] == {"s": (S, "line1\nline2\r\nline3")}
    assert [(e.line, e.reason) for e in errors] == [(5, "missing fields")]


def test_unbalanced_quote_does_not_swallow_the_rest() -> None:
    body = b'cpu s="oops 1\ncpu v=1 2\ncpu v=2 3'
    batch, errors = parse(body)
    assert [(e.line, e.reason) for e in errors] == [(1, "unbalanced quotes")]
    assert batch.time.tolist() == [2, 3]


def test_stray_quote_spanning_lines_reports_first_line() -> None:
    body = b'cpu s="a 1\ncpu v=1 2\ncpu t="b" 3'
    batch, errors = parse(body)
    assert [e.line for e in errors] == [1]
    assert "after the closing quote" in errors[0].reason
    assert batch.time.tolist() == [2, 3]


def test_unicode() -> None:
    sk, _, f = one('température,lieu=salle\\ à\\ manger valeur=1,s="é😀" 1'.encode())
    assert sk == SeriesKey("température", (("lieu", "salle à manger"),))
    assert f["s"] == (S, "é😀")


# --- values ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (b"1", 1.0),
        (b"-1", -1.0),
        (b"1.5", 1.5),
        (b"-1e10", -1e10),
        (b".5", 0.5),
        (b"-.5", -0.5),
        (b"5.", 5.0),
        (b"1E+3", 1000.0),
        (b"1e-3", 0.001),
        (b"00.1", 0.1),
        (b"1.7976931348623157e308", 1.7976931348623157e308),
        (b"1e-400", 0.0),
    ],
)
def test_floats(raw: bytes, value: float) -> None:
    _, _, f = one(b"m v=" + raw + b" 1")
    assert f == {"v": (F, value)}


@pytest.mark.parametrize(
    "raw", [b"abc", b"1_0", b"+1", b"NaN", b"nan", b"inf", b"-Inf", b"Infinity", b"1e", b"1.2.3",
            b"--1", b"1-2", b"0x10", b".", b"-", b"e5", b"1e5.5", b"\xff"],
)  # fmt: skip
def test_invalid_floats(raw: bytes) -> None:
    assert (
        error(b"m x=" + raw + b" 1")
        == f"invalid float '{raw.decode(errors='backslashreplace')}' for field 'x'"
    )


def test_float_out_of_range() -> None:
    assert error(b"m x=1e400 1") == "float out of range '1e400' for field 'x'"


def test_float_with_tab_is_invalid() -> None:
    assert error(b"m x=1\t 1") == "invalid float '1\t' for field 'x'"


@pytest.mark.parametrize(
    ("raw", "value"),
    [(b"12i", 12), (b"-12i", -12), (b"0i", 0), (b"9223372036854775807i", 2**63 - 1),
     (b"-9223372036854775808i", -(2**63))],
)  # fmt: skip
def test_integers(raw: bytes, value: int) -> None:
    _, _, f = one(b"m v=" + raw + b" 1")
    assert f == {"v": (I, value)}


@pytest.mark.parametrize("raw", [b"1.5i", b"1e3i", b"ii", b"-i", b"1ii", b"+1i", b"1_0i", b"i"])
def test_invalid_integers(raw: bytes) -> None:
    reason = error(b"m x=" + raw + b" 1")
    assert reason.startswith(("invalid integer", "invalid float")), reason


def test_invalid_integer_reason() -> None:
    assert error(b"m x=1.5i 1") == "invalid integer '1.5i' for field 'x'"


def test_integer_out_of_range() -> None:
    assert error(b"m x=9223372036854775808i 1") == (
        "integer out of range '9223372036854775808i' for field 'x'"
    )
    assert error(b"m x=-9223372036854775809i 1").startswith("integer out of range")


def test_thousands_of_digits_are_out_of_range_not_a_crash() -> None:
    # Python's int() refuses strings of over 4,300 digits: each is a line error, as any
    # other number out of range (a write of one was a 503)
    assert error(b"m x=" + b"9" * 5000 + b"i 1").startswith("integer out of range")
    assert error(b"m x=" + b"9" * 5000 + b"u 1").startswith("unsigned integer out of range")
    assert error(b"m x=1i " + b"9" * 5000).startswith("timestamp out of range")


@pytest.mark.parametrize(
    ("raw", "value"), [(b"12u", 12), (b"0u", 0), (b"18446744073709551615u", 2**64 - 1)]
)
def test_unsigned(raw: bytes, value: int) -> None:
    _, _, f = one(b"m v=" + raw + b" 1")
    assert f == {"v": (U, value)}


def test_invalid_unsigned() -> None:
    assert error(b"m x=-1u 1") == "invalid unsigned integer '-1u' for field 'x'"
    assert error(b"m x=1.5u 1") == "invalid unsigned integer '1.5u' for field 'x'"
    assert error(b"m x=18446744073709551616u 1") == (
        "unsigned integer out of range '18446744073709551616u' for field 'x'"
    )


@pytest.mark.parametrize(
    ("raw", "value"),
    [(b"t", True), (b"T", True), (b"true", True), (b"True", True), (b"TRUE", True),
     (b"f", False), (b"F", False), (b"false", False), (b"False", False), (b"FALSE", False)],
)  # fmt: skip
def test_booleans(raw: bytes, value: bool) -> None:
    _, _, f = one(b"m v=" + raw + b" 1")
    assert f == {"v": (B, value)}


@pytest.mark.parametrize("raw", [b"tru", b"truE", b"FALSe", b"yes"[:0] + b"fals", b"tt"])
def test_invalid_booleans(raw: bytes) -> None:
    assert error(b"m x=" + raw + b" 1") == f"invalid boolean '{raw.decode()}' for field 'x'"


def test_bare_word_is_invalid_float() -> None:
    assert error(b"m x=hello 1") == "invalid float 'hello' for field 'x'"


def test_duplicate_field_last_wins() -> None:
    _, _, f = one(b"m a=1,b=2,a=3 1")
    assert f == {"a": (F, 3.0), "b": (F, 2.0)}
    _, _, f = one(b'm a=1,a="s" 1')
    assert f == {"a": (S, "s")}


def test_duplicate_field_earlier_value_must_still_be_valid() -> None:
    assert error(b"m a=1x,a=3 1") == "invalid float '1x' for field 'a'"


def test_duplicate_field_type_after_last_wins_conflicts() -> None:
    batch, errors = parse(b"m a=1i 1\nm a=1,a=2i 2\nm a=1i,a=2 3")
    assert batch.time.tolist() == [1, 2]
    assert [(e.line, e.reason) for e in errors] == [
        (
            3,
            conflict("a", "m", "integer", "float"),
        )
    ]


def test_all_types_in_one_line() -> None:
    _, _, f = one(b'm f=1.5,i=2i,u=3u,b=true,s="x" 1')
    assert f == {"f": (F, 1.5), "i": (I, 2), "u": (U, 3), "b": (B, True), "s": (S, "x")}


# --- timestamps and precision ------------------------------------------------------------


def test_missing_timestamp_is_now() -> None:
    _, t, _ = one(b"m v=1")
    assert t == NOW


@pytest.mark.parametrize(
    ("precision", "mult"),
    [("ns", 1), ("n", 1), ("u", 1000), ("us", 1000), ("ms", 10**6), ("s", 10**9),
     ("m", 60 * 10**9), ("h", 3600 * 10**9)],
)  # fmt: skip
def test_precision(precision: str, mult: int) -> None:
    _, t, _ = one(b"m v=1 1700", precision=precision)
    assert t == 1700 * mult
    _, t, _ = one(b"m v=1", precision=precision)
    assert t == NOW - NOW % mult


def test_negative_timestamp() -> None:
    _, t, _ = one(b"m v=1 -5", precision="s")
    assert t == -5 * 10**9


def test_unknown_precision_raises() -> None:
    with pytest.raises(LineProtocolError, match="invalid precision 'x'"):
        parse_body(b"m v=1", db="d", rp="r", precision="x", now_ns=0)


@pytest.mark.parametrize("ts", [b"12a", b"1.5", b"0x10", b"+5", b"--1", b"1_0", b"-"])
def test_invalid_timestamp(ts: bytes) -> None:
    assert error(b"m v=1 " + ts) == f"invalid timestamp '{ts.decode()}'"


def test_timestamp_out_of_range() -> None:
    assert error(b"m v=1 9223372036854775807") == "timestamp out of range '9223372036854775807'"
    assert error(b"m v=1 99999999999999999999").startswith("timestamp out of range")
    assert error(b"m v=1 9223372037", precision="s") == (
        "timestamp out of range '9223372037' at precision 's'"
    )
    _, t, _ = one(b"m v=1 9223372036", precision="s")
    assert t == 9223372036 * 10**9


def test_text_after_timestamp() -> None:
    assert error(b"m v=1 1 2") == "unexpected text after the timestamp: '2'"


# --- structural errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"cpu", "missing fields"),
        (b"cpu ", "missing fields"),
        (b"cpu,host=a", "missing fields"),
        (b"cpu,host=a  ", "missing fields"),
        (b",host=a v=1", "missing measurement"),
        (b"cpu, v=1", "missing tag key"),
        (b"cpu,=a v=1", "missing tag key"),
        (b"cpu,host v=1", "missing tag value for tag 'host'"),
        (b"cpu,host= v=1", "missing tag value for tag 'host'"),
        (b"cpu,host=,r=1 v=1", "missing tag value for tag 'host'"),
        (b"cpu,host=a=b v=1", "invalid tag value for tag 'host': unescaped '='"),
        (b"cpu,host=a,host=b v=1", "duplicate tag key 'host'"),
        (b"cpu usage_idle=", "missing field value for 'usage_idle'"),
        (b"cpu usage_idle= 1", "missing field value for 'usage_idle'"),
        (b"cpu a=1,b=", "missing field value for 'b'"),
        (b"cpu a=,b=1", "missing field value for 'a'"),
        (b"cpu =1", "missing field key"),
        (b"cpu a=1,=2", "missing field key"),
        (b"cpu a=1, 5", "missing field key"),
        (b"cpu a=1,", "missing field key"),
        (b"cpu v", "missing '=' after field key 'v'"),
        (b"cpu a=1,b", "missing '=' after field key 'b'"),
        (b'cpu s="abc', "unbalanced quotes"),
        (b'cpu s="abc\\" 1', "unbalanced quotes"),
        (b'cpu s="a"b 1',
         "invalid string value for field 's': unexpected 'b' after the closing quote"),
        (b"cpu\xff v=1", "invalid UTF-8 in measurement 'cpu\\xff'"),
        (b"cpu,t=\xff v=1", "invalid UTF-8 in tag value '\\xff'"),
        (b"cpu \xff=1", "invalid UTF-8 in field key '\\xff'"),
        (b'cpu s="\xff"', "invalid UTF-8 in string value of field 's' '\\xff'"),
        (b"cpu\tv=1", "missing fields"),
    ],
)  # fmt: skip
def test_errors(line: bytes, reason: str) -> None:
    assert error(line) == reason


def test_max_key_length() -> None:
    assert error(b"cpu,t=" + b"x" * 70000 + b" v=1").startswith("max key length exceeded")


def test_error_carries_text_and_message() -> None:
    _, errors = parse(b"cpu v=1 1\ncpu v=x 2")
    (e,) = errors
    assert e.text == "cpu v=x 2"
    assert str(e) == "line 2: invalid float 'x' for field 'v'"


# --- partial writes and line numbers -----------------------------------------------------


def test_mixed_good_and_bad_lines_report_true_line_numbers() -> None:
    body = b"\n".join(
        [
            b"# header",
            b"cpu,host=a v=1 1",
            b"cpu,host=a v=oops 2",
            b"",
            b"cpu,host=b v=3 3",
            b'cpu,host=b v="str" 4',
            b"cpu,host=c v=5 5",
            b"cpu,host=c v=5 5x",
            b"mem free=1i 6",
            b"mem free=2u 7",
            b"cpu,host=d v=8",
        ]
    )
    batch, errors = parse(body, first_line=101)
    assert [(e.line, e.reason) for e in errors] == [
        (103, "invalid float 'oops' for field 'v'"),
        (
            106,
            conflict("v", "cpu", "float", "string"),
        ),
        (108, "invalid timestamp '5x'"),
        (
            110,
            conflict("free", "mem", "integer", "unsigned"),
        ),
    ]
    assert batch.time.tolist() == [1, 3, 5, 6, NOW]
    assert [str(s) for s in batch.series] == [
        "cpu,host=a",
        "cpu,host=b",
        "cpu,host=c",
        "mem",
        "cpu,host=d",
    ]
    assert batch.series_idx.tolist() == [0, 1, 2, 3, 4]
    v = batch.fields["v"]
    assert v.present is not None and v.present.tolist() == [True, True, True, False, True]
    assert v.values[v.present].tolist() == [1.0, 3.0, 5.0, 8.0]
    free = batch.fields["free"]
    assert free.type is I and free.present is not None and free.values[3] == 1


def test_type_of_rejected_line_does_not_count() -> None:
    batch, errors = parse(b'm x=1e 1\nm x="s" 2\nm x=2i 3')
    assert [(e.line, e.reason) for e in errors] == [
        (1, "invalid float '1e' for field 'x'"),
        (
            3,
            conflict("x", "m", "string", "integer"),
        ),
    ]
    assert rows(batch) == [(SeriesKey("m"), 2, {"x": (S, "s")})]


def test_series_of_rejected_lines_are_dropped() -> None:
    batch, errors = parse(b"a v=1 1\nb v=x 2\nc v=3 3")
    assert len(errors) == 1
    assert [s.measurement for s in batch.series] == ["a", "c"]
    assert batch.series_idx.tolist() == [0, 1]


def test_present_none_when_every_row_has_field() -> None:
    batch, _ = parse(b"m a=1,b=1i 1\nm a=2 2")
    assert batch.fields["a"].present is None
    assert batch.fields["b"].present is not None
    assert batch.fields["a"].values.dtype == np.float64
    assert batch.fields["b"].values.dtype == np.int64


def test_column_dtypes() -> None:
    batch, _ = parse(b'm f=1,i=1i,u=1u,b=t,s="x" 1')
    dtypes = {k: c.values.dtype for k, c in batch.fields.items()}
    assert dtypes == {
        "f": np.float64, "i": np.int64, "u": np.uint64, "b": np.bool_, "s": np.dtype(object)
    }  # fmt: skip
    assert batch.series_idx.dtype == np.int32 and batch.time.dtype == np.int64


def test_many_errors_big_body() -> None:
    good = b"cpu,host=h1 v=1.5,w=2i 1700000000000000000"
    lines = [good if i % 7 else b"cpu,host=h1 v=bad,w=2i 1" for i in range(2000)]
    batch, errors = parse(b"\n".join(lines))
    assert [e.line for e in errors] == [i + 1 for i in range(2000) if i % 7 == 0]
    assert len(batch) == 2000 - len(errors)


def _taken(batches: list[PointBatch]) -> list[list[tuple[str, Any]]]:
    """Each batch's (measurement, value of field v) per row."""
    return [[(r[0].measurement, r[2]["v"][1]) for r in rows(b)] for b in batches]


def test_field_types_are_per_measurement_as_in_influxdb() -> None:
    # What InfluxDB's subscriber forwards: one write, one field name, four types.
    body = b'conf_a v=1i 1\nconf_b v=2.5 2\nconf_c v="str" 3\nconf_d v=true 4'
    batches, errors = parse_all(body)
    assert errors == []
    assert _taken(batches) == [
        [("conf_a", 1)],
        [("conf_b", 2.5)],
        [("conf_c", "str")],
        [("conf_d", True)],
    ]


def test_a_deferred_measurement_keeps_its_order_and_its_own_conflicts() -> None:
    body = b"a v=1i 1\nb v=1.5 2\na v=2i 3\nb v=2i 4\nb v=3 5\nb x=1i 6\nb x=1.5 7"
    batches, errors = parse_all(body, first_line=10)
    assert _taken(batches[:1]) == [[("a", 1), ("a", 2)]]
    assert [(r[0].measurement, r[1]) for r in rows(batches[1])] == [("b", 2), ("b", 5), ("b", 6)]
    assert [(e.line, e.reason) for e in errors] == [
        (
            13,
            conflict("v", "b", "float", "integer"),
        ),
        (
            16,
            conflict("x", "b", "integer", "float"),
        ),
    ]


def test_a_later_batch_keeps_the_types_its_measurement_had_in_an_earlier_one() -> None:
    # b's x is an integer in the first batch: b's later x=2.5 is a conflict, not a new column.
    batches, errors = parse_all(b"b x=1i 1\na v=1i 2\nb v=1.5 3\nb x=2.5 4")
    assert [len(b) for b in batches] == [2, 1]
    assert [(e.line, e.reason) for e in errors] == [
        (
            4,
            conflict("x", "b", "integer", "float"),
        )
    ]
