"""InfluxQL rewriting and statements, without a server."""

from __future__ import annotations

import pytest

from kapacitor.influx import database_of, with_group_by_all
from kapacitor.influx.influxql import show_retention_policies, show_schema, source_of


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT * FROM cpu", "SELECT * FROM cpu GROUP BY *"),
        ("SELECT * FROM cpu;", "SELECT * FROM cpu GROUP BY *;"),
        (
            "select usage from cpu where time > now() - 1h limit 10",
            "select usage from cpu where time > now() - 1h GROUP BY * limit 10",
        ),
        (
            "SELECT * FROM cpu ORDER BY time DESC",
            "SELECT * FROM cpu GROUP BY * ORDER BY time DESC",
        ),
        ("SELECT * FROM cpu tz('Europe/Paris')", "SELECT * FROM cpu GROUP BY * tz('Europe/Paris')"),
        ("SELECT * FROM cpu GROUP BY host", "SELECT * FROM cpu GROUP BY host"),
        ("SELECT * FROM cpu group by *", "SELECT * FROM cpu group by *"),
        (
            "SELECT * FROM cpu WHERE msg = 'GROUP BY x limit 3'",
            "SELECT * FROM cpu WHERE msg = 'GROUP BY x limit 3' GROUP BY *",
        ),
        (
            'SELECT "limit" FROM "group by"',
            'SELECT "limit" FROM "group by" GROUP BY *',
        ),
        (
            "SELECT max(m) FROM (SELECT mean(v) AS m FROM cpu GROUP BY time(1m), host LIMIT 5)",
            "SELECT max(m) FROM (SELECT mean(v) AS m FROM cpu GROUP BY time(1m), host LIMIT 5)"
            " GROUP BY *",
        ),
        (
            "SELECT * FROM cpu; SELECT * FROM mem GROUP BY host",
            "SELECT * FROM cpu GROUP BY *; SELECT * FROM mem GROUP BY host",
        ),
        ("SHOW MEASUREMENTS", "SHOW MEASUREMENTS"),
    ],
)
def test_group_by_all_is_added_only_without_group_by(query: str, expected: str) -> None:
    assert with_group_by_all(query) == expected


def test_source_of_qualified_measurements() -> None:
    assert source_of('SELECT * FROM "tele graf"."autogen"."cpu"') == ("tele graf", "autogen")
    assert source_of("SELECT * FROM telegraf..cpu") == ("telegraf", "")
    assert source_of("SELECT * FROM one_week.cpu") == ("", "one_week")
    assert source_of("SELECT * FROM cpu WHERE x = 1.5") == ("", "")
    assert database_of('SELECT * FROM "tele graf"."autogen"."cpu"') == "tele graf"


def test_statements_quote_their_identifiers() -> None:
    assert show_retention_policies('te"le') == 'SHOW RETENTION POLICIES ON "te\\"le"'
    assert (
        show_schema("FIELD KEYS", "db", "week", "cpu")
        == 'SHOW FIELD KEYS ON "db" FROM "week"."cpu"'
    )
    assert show_schema("TAG KEYS", "db", "", "cpu") == 'SHOW TAG KEYS ON "db" FROM "cpu"'
