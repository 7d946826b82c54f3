"""Field types side by side with a real InfluxDB 1.x: the same write keeps the same points, or
is refused whole, here and there (types are per measurement in both; a field given two types
within one measurement of one write refuses it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from kapacitor.errors import RequestError
from kapacitor.ingest import Write
from kapacitor.lineprotocol import split_body
from kapacitor.model import decode_batch
from kapacitor.testing.influx import InfluxServer

BODIES = [
    # what InfluxDB's subscriber forwards: one write, one field name, four types
    b'conf_a value=1i 1\nconf_b value=2.5 2\nconf_c value="str" 3\nconf_d value=true 4',
    # a conflict within a measurement, after one across measurements
    b"a v=1i 1\nb v=1.5 2\na v=2i 3\nb v=2i 4\nb v=3 5",
    # a measurement's type from before its line was set apart
    b"b x=1i 1\na v=1i 2\nb v=1.5 3\nb x=2.5 4",
    # within one measurement only
    b"m v=1 1\nm v=2i 2\nm v=3 3",
]


@pytest.fixture(scope="module")
def influx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    server = InfluxServer(tmp_path_factory.mktemp("influx")).start()
    try:
        yield server
    finally:
        server.stop()


def _influx_keeps(influx: InfluxServer, db: str, body: bytes) -> tuple[int, set[tuple[str, int]]]:
    """influxd's status for the write, and the (measurement, time) of each point it stored."""
    influx.query(f'CREATE DATABASE "{db}"')
    r = httpx.post(influx.url + "/write", params={"db": db}, content=body, timeout=30)
    assert r.status_code == 204 or "field type conflict" in r.text, r.text

    def select(q: str) -> list[dict[str, Any]]:
        params = {"q": q, "db": db, "epoch": "ns"}
        doc = httpx.get(influx.url + "/query", params=params, timeout=30).json()
        return [s for result in doc["results"] for s in result.get("series", [])]

    # one measurement at a time: SELECT * over several leaves out the ones whose field has
    # another type than the first's
    names = [v[0] for s in select("SHOW MEASUREMENTS") for v in s["values"]]
    kept = {(s["name"], int(v[0])) for m in names for s in select(f'SELECT * FROM "{m}"')
            for v in s["values"]}  # fmt: skip
    return r.status_code, kept


def _we_keep(body: bytes, chunk_size: int = 0) -> tuple[int, set[tuple[str, int]]]:
    write = Write(db="d", rp="r", precision="ns", now_ns=0)
    for first, chunk in split_body(body, chunk_size or len(body)):
        write.add_chunk(chunk, first)
    try:
        write.outcome()
    except RequestError:
        assert write.messages == []
        return 400, set()
    kept = {
        (batch.series[int(batch.series_idx[r])].measurement, int(batch.time[r]))
        for batch in (decode_batch(m.data) for m in write.messages)
        for r in range(len(batch))
    }
    return 204, kept


@pytest.mark.parametrize("n", range(len(BODIES)))
def test_a_write_is_kept_or_refused_as_influxd_does(influx: InfluxServer, n: int) -> None:
    assert _we_keep(BODIES[n]) == _influx_keeps(influx, f"types{n}", BODIES[n])


# A body the API parses in several chunks: the chunks agree on types as the lines of one
# chunk do.
CHUNKED = [
    b"m v=1 1\nm v=2 2\nm v=3 3\nm v=4i 4\nm v=5 5\n",
    b"a v=1i 1\nb v=1.5 2\na v=2i 3\nb v=2.5 4\na v=3i 5\nb v=3i 6\n",
    b"a v=1i 1\nb v=1.5 2\nc v=true 3\na v=2i 4\nb v=2.5 5\nc v=false 6\n",
]


@pytest.mark.parametrize("n", range(len(CHUNKED)))
def test_a_big_write_in_chunks_is_kept_or_refused_as_influxd_does(
    influx: InfluxServer, n: int
) -> None:
    body = CHUNKED[n]
    assert len(list(split_body(body, 12))) >= 5  # a line or two a chunk
    assert _we_keep(body, 12) == _influx_keeps(influx, f"chunked{n}", body)
