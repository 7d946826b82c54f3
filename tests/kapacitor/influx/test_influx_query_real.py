"""Recording from a real InfluxDB 1.x with query_batches: what was written comes back exactly."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from kapacitor.influx import InfluxError, query_batches
from kapacitor.model.batch import FieldType, PointBatch
from kapacitor.testing.influx import InfluxServer
from kapacitor.testing.ports import free_port

T0 = 1_700_000_000_123_456_789

LINES = f"""\
cpu,host=a,dc=east usage=12.5,count=3i,state="ok",up=true {T0 + 1}
cpu,host=b usage=2,count=-4i,state="bad \\"q\\" x",up=false {T0 + 2}
cpu,host=a,dc=east usage=13 {T0 + 3}
mem,host=a used=5i {T0 + 4}
mem,host=c,dc=west used=9223372036854775807i {T0 + 5}
"""

Row = tuple[str, tuple[tuple[str, str], ...], int, dict[str, tuple[FieldType, Any]]]


def _flat(batches: list[PointBatch]) -> list[Row]:
    out: list[Row] = []
    for b in batches:
        for r in range(len(b)):
            s = b.series[int(b.series_idx[r])]
            fields = {}
            for name, col in b.fields.items():
                if col.present is None or col.present[r]:
                    v = col.values[r]
                    fields[name] = (col.type, v if isinstance(v, str) else v.item())
            out.append((s.measurement, s.tags, int(b.time[r]), fields))
    return sorted(out, key=lambda row: row[2])


@pytest.fixture(scope="module")
def influx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    server = InfluxServer(tmp_path_factory.mktemp("influx")).start()
    try:
        server.query("CREATE DATABASE telegraf")
        server.query('CREATE RETENTION POLICY "week" ON "telegraf" DURATION 0s REPLICATION 1')
        server.write("telegraf", LINES)
        yield server
    finally:
        server.stop()


async def _record(url: str, query: str, **kw: Any) -> list[PointBatch]:
    return [b async for b in query_batches(url, query, **kw)]


EXPECTED: list[Row] = [
    (
        "cpu",
        (("dc", "east"), ("host", "a")),
        T0 + 1,
        {
            "usage": (FieldType.FLOAT, 12.5),
            "count": (FieldType.INT, 3),
            "state": (FieldType.STRING, "ok"),
            "up": (FieldType.BOOL, True),
        },
    ),
    (
        "cpu",
        (("host", "b"),),
        T0 + 2,
        {
            "usage": (FieldType.FLOAT, 2.0),
            "count": (FieldType.INT, -4),
            "state": (FieldType.STRING, 'bad "q" x'),
            "up": (FieldType.BOOL, False),
        },
    ),
    ("cpu", (("dc", "east"), ("host", "a")), T0 + 3, {"usage": (FieldType.FLOAT, 13.0)}),
    ("mem", (("host", "a"),), T0 + 4, {"used": (FieldType.INT, 5)}),
    ("mem", (("dc", "west"), ("host", "c")), T0 + 5, {"used": (FieldType.INT, 2**63 - 1)}),
]


async def test_records_measurements_tags_types_and_times_exactly(influx: InfluxServer) -> None:
    batches = await _record(influx.url, "SELECT * FROM cpu, mem", db="telegraf")
    assert all((b.db, b.rp) == ("telegraf", "autogen") for b in batches)
    assert _flat(batches) == EXPECTED
    usage = [b.fields["usage"] for b in batches if "usage" in b.fields]
    assert all(c.type is FieldType.FLOAT and c.values.dtype.kind == "f" for c in usage)


async def test_small_chunks_give_the_same_points(influx: InfluxServer) -> None:
    batches = await _record(influx.url, "SELECT * FROM /.*/", db="telegraf", chunk_size=1)
    assert len(batches) == 5
    assert _flat(batches) == EXPECTED
    batches = await _record(influx.url, "SELECT * FROM /.*/", db="telegraf", chunk_size=2)
    assert all(len(b) >= 2 for b in batches[:-1])
    assert _flat(batches) == EXPECTED


async def test_group_by_without_star_recovers_tags_from_columns(influx: InfluxServer) -> None:
    batches = await _record(influx.url, "SELECT * FROM cpu GROUP BY host", db="telegraf")
    assert _flat(batches) == EXPECTED[:3]


async def test_where_clause_and_qualified_source(influx: InfluxServer) -> None:
    q = f'SELECT usage FROM "telegraf"."autogen"."cpu" WHERE time > {T0 + 1} AND host = \'a\''
    batches = await _record(influx.url, q)
    assert all((b.db, b.rp) == ("telegraf", "autogen") for b in batches)
    assert _flat(batches) == [
        ("cpu", (("dc", "east"), ("host", "a")), T0 + 3, {"usage": (FieldType.FLOAT, 13.0)})
    ]


async def test_explicit_rp_is_carried_by_the_batches(influx: InfluxServer) -> None:
    influx.write("telegraf", f"disk,host=z free=1i {T0}\n")
    with pytest.raises(InfluxError, match="no points"):
        await _record(influx.url, "SELECT * FROM disk", db="telegraf", rp="week")
    batches = await _record(influx.url, "SELECT * FROM disk", db="telegraf", rp="autogen")
    assert [(b.db, b.rp) for b in batches] == [("telegraf", "autogen")]
    assert _flat(batches) == [("disk", (("host", "z"),), T0, {"free": (FieldType.INT, 1)})]


async def test_bad_query_quotes_influxdb(influx: InfluxServer) -> None:
    with pytest.raises(InfluxError, match="InfluxDB rejected the query: error parsing query"):
        await _record(influx.url, "SELEC * FROM cpu", db="telegraf")


async def test_unknown_database_quotes_influxdb(influx: InfluxServer) -> None:
    with pytest.raises(InfluxError, match="database not found: nope"):
        await _record(influx.url, "SELECT * FROM cpu", db="nope")


async def test_empty_result(influx: InfluxServer) -> None:
    with pytest.raises(InfluxError, match="the query returned no points"):
        await _record(influx.url, "SELECT * FROM nothing_here", db="telegraf")
    with pytest.raises(InfluxError, match="the query returned no points"):
        await _record(influx.url, f"SELECT * FROM cpu WHERE time > {T0 + 100}", db="telegraf")


async def test_no_database() -> None:
    with pytest.raises(InfluxError, match="no database"):
        await _record("http://127.0.0.1:1", "SELECT * FROM cpu")


async def test_unreachable_host() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(InfluxError, match=f"cannot reach InfluxDB at {url}"):
        await _record(url, "SELECT * FROM cpu", db="telegraf")


class _Refuse(BaseHTTPRequestHandler):
    seen_auth: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        _Refuse.seen_auth.append(self.headers.get("Authorization"))
        body = json.dumps({"error": "authorization failed"}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


async def test_refused_credentials() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with pytest.raises(InfluxError, match="InfluxDB refused the credentials: authorization"):
            await _record(url, "SELECT * FROM cpu", db="telegraf", username="u", password="p")
        assert _Refuse.seen_auth == ["Basic dTpw"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def test_real_influxdb_with_authentication(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # influxd reads INFLUXDB_<SECTION>_<KEY> overrides of its config from the environment
    monkeypatch.setenv("INFLUXDB_HTTP_AUTH_ENABLED", "true")
    server = InfluxServer(tmp_path / "influx-auth").start()
    monkeypatch.delenv("INFLUXDB_HTTP_AUTH_ENABLED")
    try:
        # the first admin user may be created without credentials
        server.query("CREATE USER admin WITH PASSWORD 's3cret' WITH ALL PRIVILEGES")
        auth = ("admin", "s3cret")
        r = httpx.post(server.url + "/query", params={"q": "CREATE DATABASE db"}, auth=auth)
        assert r.status_code == 200
        r = httpx.post(
            server.url + "/write", params={"db": "db"}, content=f"m v=1i {T0}\n", auth=auth
        )
        assert r.status_code == 204
        with pytest.raises(InfluxError, match="InfluxDB refused the credentials"):
            await _record(server.url, "SELECT * FROM m", db="db")
        with pytest.raises(InfluxError, match="InfluxDB refused the credentials"):
            await _record(server.url, "SELECT * FROM m", db="db", username="admin", password="no")
        batches = await _record(
            server.url, "SELECT * FROM m", db="db", username="admin", password="s3cret"
        )
        assert _flat(batches) == [("m", (), T0, {"v": (FieldType.INT, 1)})]
    finally:
        server.stop()
