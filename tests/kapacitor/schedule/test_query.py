"""A scheduled plugin's query: checks, the time range added, the answer as batches."""

from __future__ import annotations

import pytest

from kapacitor.errors import InfluxError, PluginError
from kapacitor.schedule import check_query, query_db, query_for, result_batches

Q = "SELECT mean(usage_idle) AS idle FROM cpu"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (Q, f"{Q} WHERE time >= 1 AND time < 2"),
        (f"{Q} GROUP BY host", f"{Q} WHERE time >= 1 AND time < 2 GROUP BY host"),
        (
            f"{Q} WHERE cpu = 'cpu-total' OR host = 'a' GROUP BY time(1m), host fill(none)",
            f"{Q} WHERE (cpu = 'cpu-total' OR host = 'a') AND time >= 1 AND time < 2"
            " GROUP BY time(1m), host fill(none)",
        ),
        (
            f"{Q} WHERE host = 'GROUP BY' LIMIT 5;",
            f"{Q} WHERE (host = 'GROUP BY') AND time >= 1 AND time < 2 LIMIT 5",
        ),
    ],
)
def test_the_range_is_added(query: str, expected: str) -> None:
    check_query(query)
    assert query_for(query, 1, 2) == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "empty"),
        ("SHOW DATABASES", "must be a SELECT"),
        (f"{Q}; {Q}", "one SELECT statement"),
        ("SELECT v INTO other FROM m", "must not write"),
        (f"{Q} WHERE time > now() - 1h", "must not have a time condition"),
    ],
)
def test_bad_queries(query: str, message: str) -> None:
    with pytest.raises(PluginError, match=message):
        check_query(query)


def test_a_tag_value_named_time_is_no_time_condition() -> None:
    check_query(f"{Q} WHERE host = 'time'")


def test_the_database_is_the_named_one_or_the_option() -> None:
    assert query_db('SELECT v FROM "db1"."rp"."m"', "other") == "db1"
    assert query_db("SELECT v FROM m", "other") == "other"


def test_each_series_becomes_its_instances_rows() -> None:
    doc = {
        "results": [
            {
                "series": [
                    {
                        "name": "cpu",
                        "tags": {"host": "a"},
                        "columns": ["time", "idle"],
                        "values": [[10, 20.5]],
                    },
                    {
                        "name": "cpu",
                        "tags": {"host": "b"},
                        "columns": ["time", "idle"],
                        "values": [[10, 80]],
                    },
                ]
            }
        ]
    }
    a, b = result_batches(doc, "telegraf", "autogen")
    assert [s.tags for s in a.series] == [(("host", "a"),)] and b.series[0].measurement == "cpu"
    assert a.fields["idle"].values.tolist() == [20.5] and b.fields["idle"].values.tolist() == [80.0]
    assert a.db == "telegraf" and list(a.time) == [10]
    assert result_batches({"results": [{}]}, "d", "r") == []
    with pytest.raises(InfluxError, match="field not found"):
        result_batches({"results": [{"error": "field not found"}]}, "d", "r")
