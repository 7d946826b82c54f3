"""Turning InfluxDB JSON answers into batches, without a server."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from kapacitor.influx import InfluxError, field_types_of, series_to_batch
from kapacitor.influx.series import default_rp_of, error_of, tag_keys_of
from kapacitor.model.batch import FieldType, PointBatch, SeriesKey

TYPES = {
    "usage": FieldType.FLOAT,
    "count": FieldType.INT,
    "state": FieldType.STRING,
    "up": FieldType.BOOL,
}


def _rows(batch: PointBatch) -> list[tuple[str, tuple[tuple[str, str], ...], int, dict[str, Any]]]:
    out = []
    for r in range(len(batch)):
        s = batch.series[int(batch.series_idx[r])]
        fields = {
            name: (
                col.type,
                col.values[r].item() if col.type is not FieldType.STRING else col.values[r],
            )
            for name, col in batch.fields.items()
            if col.present is None or col.present[r]
        }
        out.append((s.measurement, s.tags, int(batch.time[r]), fields))
    return out


def test_series_with_tags_keeps_types_and_times() -> None:
    series = {
        "name": "cpu",
        "tags": {"host": "a", "dc": "east"},
        "columns": ["time", "count", "state", "up", "usage"],
        "values": [
            [1700000000000000001, 3, "ok", True, 2],
            [1700000000000000002, None, None, None, 2.5],
            [9223372036854775806, -(2**63), 'q"x', False, -0.0],
        ],
    }
    batch = series_to_batch(series, TYPES, db="telegraf", rp="autogen")
    assert (batch.db, batch.rp) == ("telegraf", "autogen")
    assert batch.series == [SeriesKey("cpu", (("dc", "east"), ("host", "a")))]
    assert batch.time.dtype == np.int64
    assert batch.time.tolist() == [1700000000000000001, 1700000000000000002, 2**63 - 2]
    assert {n: c.type for n, c in batch.fields.items()} == TYPES
    assert batch.fields["usage"].values.dtype == np.float64
    assert batch.fields["count"].values.dtype == np.int64
    rows = _rows(batch)
    assert rows[0][3] == {
        "count": (FieldType.INT, 3),
        "state": (FieldType.STRING, "ok"),
        "up": (FieldType.BOOL, True),
        "usage": (FieldType.FLOAT, 2.0),
    }
    assert rows[1][3] == {"usage": (FieldType.FLOAT, 2.5)}
    assert rows[2][3]["count"] == (FieldType.INT, -(2**63))
    assert rows[2][3]["state"] == (FieldType.STRING, 'q"x')


def test_empty_tag_values_and_all_null_columns_and_fieldless_rows_are_dropped() -> None:
    series = {
        "name": "cpu",
        "tags": {"host": "b", "dc": ""},
        "columns": ["time", "usage", "used"],
        "values": [[1, 1.5, None], [2, None, None], [3, 4, None]],
    }
    batch = series_to_batch(
        series, {"usage": FieldType.FLOAT, "used": FieldType.INT}, db="d", rp="r"
    )
    assert batch.series == [SeriesKey("cpu", (("host", "b"),))]
    assert list(batch.fields) == ["usage"]
    assert batch.time.tolist() == [1, 3]
    assert batch.fields["usage"].values.tolist() == [1.5, 4.0]
    assert batch.fields["usage"].present is None


def test_tag_columns_become_tags_of_each_row() -> None:
    series = {
        "name": "cpu",
        "tags": {"host": "a"},
        "columns": ["time", "dc", "usage"],
        "values": [[1, "east", 1.0], [2, None, 2.0], [3, "west", 3.0], [4, "east", 4.0]],
    }
    batch = series_to_batch(
        series, {"usage": FieldType.FLOAT}, db="d", rp="r", tag_keys={"dc", "host"}
    )
    assert [s for _, s, _, _ in _rows(batch)] == [
        (("dc", "east"), ("host", "a")),
        (("host", "a"),),
        (("dc", "west"), ("host", "a")),
        (("dc", "east"), ("host", "a")),
    ]
    assert len(batch.series) == 3
    assert list(batch.fields) == ["usage"]


def test_unknown_columns_are_typed_from_their_values() -> None:
    series = {
        "name": "cpu",
        "columns": ["time", "mean", "first", "any"],
        "values": [[10, 2, "a", True], [20, 2.5, "b", None]],
    }
    batch = series_to_batch(series, {}, db="d", rp="r")
    assert {n: c.type for n, c in batch.fields.items()} == {
        "mean": FieldType.FLOAT,
        "first": FieldType.STRING,
        "any": FieldType.BOOL,
    }
    assert batch.series == [SeriesKey("cpu")]


def test_values_that_do_not_fit_the_schema_are_errors() -> None:
    series = {"name": "cpu", "columns": ["time", "count"], "values": [[1, 1.5]]}
    with pytest.raises(InfluxError, match="'count' of 'cpu' is int"):
        series_to_batch(series, {"count": FieldType.INT}, db="d", rp="r")
    series = {"name": "cpu", "columns": ["time", "up"], "values": [[1, "yes"]]}
    with pytest.raises(InfluxError, match="returned 'yes'"):
        series_to_batch(series, {"up": FieldType.BOOL}, db="d", rp="r")
    with pytest.raises(InfluxError, match="non-integer time"):
        series_to_batch(
            {"name": "cpu", "columns": ["time", "v"], "values": [["2023-01-01T00:00:00Z", 1]]},
            {},
            db="d",
            rp="r",
        )
    with pytest.raises(InfluxError, match="no time column"):
        series_to_batch({"name": "cpu", "columns": ["v"], "values": [[1]]}, {}, db="d", rp="r")


def test_empty_series_is_an_empty_batch() -> None:
    batch = series_to_batch({"name": "cpu", "columns": ["time"], "values": []}, {}, db="d", rp="r")
    assert len(batch) == 0


def test_field_types_of_merges_chunks_and_numeric_conflicts() -> None:
    doc = {
        "results": [
            {
                "series": [
                    {
                        "name": "cpu",
                        "columns": ["fieldKey", "fieldType"],
                        "values": [["a", "integer"], ["b", "string"], ["c", "boolean"]],
                    },
                    {
                        "name": "cpu",
                        "columns": ["fieldKey", "fieldType"],
                        "values": [["a", "float"], ["d", "unsigned"], ["e", "float"]],
                    },
                ]
            }
        ]
    }
    assert field_types_of(doc) == {
        "cpu": {
            "a": FieldType.FLOAT,
            "b": FieldType.STRING,
            "c": FieldType.BOOL,
            "d": FieldType.UINT,
            "e": FieldType.FLOAT,
        }
    }


def test_answer_documents_name_errors_default_rp_and_tag_keys() -> None:
    assert error_of({"error": "bad auth"}) == "bad auth"
    assert error_of({"results": [{"statement_id": 0}, {"error": "no db"}]}) == "no db"
    assert error_of({"results": [{"statement_id": 0}]}) is None
    assert error_of([1]) is None
    rps = {
        "results": [
            {
                "series": [
                    {
                        "columns": ["name", "duration", "default"],
                        "values": [["week", "168h0m0s", False], ["autogen", "0s", True]],
                    }
                ]
            }
        ]
    }
    assert default_rp_of(rps) == "autogen"
    assert default_rp_of({"results": [{}]}) == ""
    tags = {"results": [{"series": [{"columns": ["tagKey"], "values": [["host"], ["dc"]]}]}]}
    assert tag_keys_of(tags) == {"host", "dc"}
