"""The InfluxDB 1.x harness the recording tests rely on: a real influxd, written to and queried."""

from __future__ import annotations

from pathlib import Path

from kapacitor.testing.influx import InfluxServer


def test_influxd_starts_stores_and_answers(tmp_path: Path) -> None:
    server = InfluxServer(tmp_path / "influx").start()
    try:
        server.query("CREATE DATABASE telegraf")
        server.write("telegraf", "cpu_idle,host=a value=12.5 1700000000000000000\n")
        doc = server.query("SELECT value FROM cpu_idle GROUP BY *", db="telegraf")
        series = doc["results"][0]["series"]  # type: ignore[index]
        assert series[0]["tags"] == {"host": "a"}
        assert series[0]["values"][0][1] == 12.5
    finally:
        server.stop()
