"""Reading points out of InfluxDB 1.x with an InfluxQL query, as columnar point batches: the
HTTP side. The query text is rewritten by `influxql`, the answers are converted by `series`.

    query = "SELECT * FROM cpu WHERE time > now() - 1h"
    async for batch in query_batches("http://influx:8086", query, db="telegraf"):
        ...

What comes back is what was written (see `series`): before converting the first series of a
measurement the client asks `SHOW FIELD KEYS ON db FROM rp.measurement` and `SHOW TAG KEYS`, and
the query runs with ` GROUP BY *` added when it has no GROUP BY (see `influxql`) and `epoch=ns`.

The answer is streamed (`chunked=true&chunk_size=N`, one JSON document per line) and parsed line
by line; consecutive series are joined into batches of at least `chunk_size` rows.

The batches carry `db` (the `db` argument, or the database named in a fully qualified
`FROM "db"."rp"."m"`) and `rp` (the `rp` argument, the qualified one, or else the database's
default retention policy, asked with `SHOW RETENTION POLICIES`), so a replayed plugin's --db and
--rp match them as they would match live writes.

Queries are sent with GET, which InfluxDB accepts only for reading statements: recording can
never modify the database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

from kapacitor.errors import InfluxError
from kapacitor.influx.influxql import (
    show_retention_policies,
    show_schema,
    source_of,
    with_group_by_all,
)
from kapacitor.influx.series import (
    default_rp_of,
    error_of,
    field_types_of,
    series_to_batch,
    tag_keys_of,
)
from kapacitor.model.batch import FieldType, PointBatch
from kapacitor.outbound import quoted
from kapacitor.replay.merge import Coalescer

__all__ = ["DEFAULT_TIMEOUT_S", "query_batches"]

DEFAULT_TIMEOUT_S = 30.0
QUOTE_CHARS = 300  # of a refusal's answer, in its error


def _decode(line: bytes | str) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as e:
        raise InfluxError(f"InfluxDB sent an unreadable answer: {e}") from None


class _Session:
    def __init__(self, client: httpx.AsyncClient, url: str, auth: httpx.BasicAuth | None) -> None:
        self.client = client
        self.url = url.rstrip("/")
        self.auth = auth

    def params(self, q: str, db: str, **extra: str) -> dict[str, str]:
        p = {"q": q, "epoch": "ns", **extra}
        if db:
            p["db"] = db
        return p

    async def check(self, r: httpx.Response) -> None:
        if r.status_code == 200:
            return
        body = (await r.aread()).decode("utf-8", "replace").strip()
        try:
            message = error_of(orjson.loads(body)) or body
        except orjson.JSONDecodeError:
            message = body
        # What answered may be any server (record --query names its host): its answer is
        # quoted short and escaped, never relayed whole.
        message = quoted(message, QUOTE_CHARS)
        if r.status_code in (401, 403):
            raise InfluxError(
                "InfluxDB refused the credentials" + (f": {message}" if message else "")
            )
        if message and r.status_code == 400:
            raise InfluxError(f"InfluxDB rejected the query: {message}")
        raise InfluxError(
            f"InfluxDB at {self.url} answered HTTP {r.status_code}"
            + (f": {message}" if message else "")
        )

    async def get(self, q: str, db: str) -> Any:
        try:
            r = await self.client.get(
                self.url + "/query",
                params=self.params(q, db),
                auth=self.auth or httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.TransportError as e:
            raise InfluxError(
                f"cannot reach InfluxDB at {self.url}: {e or type(e).__name__}"
            ) from e
        await self.check(r)
        doc = _decode(r.content)
        err = error_of(doc)
        if err is not None:
            raise InfluxError(f"InfluxDB rejected the query: {err}")
        return doc


async def _default_rp(session: _Session, db: str) -> str:
    return default_rp_of(await session.get(show_retention_policies(db), ""))


async def query_batches(
    url: str,
    query: str,
    *,
    db: str = "",
    rp: str = "",
    username: str = "",
    password: str = "",
    chunk_size: int = 10_000,
    timeout: float = DEFAULT_TIMEOUT_S,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[PointBatch]:
    """The points `query` selects from the InfluxDB 1.x at `url`, as batches (see the module doc).

    Raises InfluxError when InfluxDB cannot be reached, refuses the credentials (HTTP 401/403),
    rejects the query (the message quotes InfluxDB's error), or the query selects no point.
    `timeout` bounds connecting and each read, not the whole query.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    named_db, named_rp = source_of(query)
    db = db or named_db
    if not db:
        raise InfluxError(
            'no database: pass one, or name it in the query as FROM "db"."rp"."measurement"'
        )
    auth = httpx.BasicAuth(username, password) if username or password else None
    async with httpx.AsyncClient(timeout=timeout, transport=transport) as client:
        session = _Session(client, url, auth)
        batch_rp = rp or named_rp or await _default_rp(session, db)
        schemas: dict[str, tuple[dict[str, FieldType], set[str]]] = {}

        async def schema(measurement: str) -> tuple[dict[str, FieldType], set[str]]:
            found = schemas.get(measurement)
            if found is None:
                fdoc = await session.get(show_schema("FIELD KEYS", db, batch_rp, measurement), db)
                tdoc = await session.get(show_schema("TAG KEYS", db, batch_rp, measurement), db)
                found = schemas[measurement] = (
                    field_types_of(fdoc).get(measurement, {}),
                    tag_keys_of(tdoc),
                )
            return found

        extra = {"chunked": "true", "chunk_size": str(chunk_size)}
        if rp:
            extra["rp"] = rp
        params = session.params(with_group_by_all(query), db, **extra)
        coalescer = Coalescer(chunk_size)
        points = 0
        try:
            async with client.stream(
                "GET", session.url + "/query", params=params, auth=auth or httpx.USE_CLIENT_DEFAULT
            ) as r:
                await session.check(r)
                async for line in r.aiter_lines():
                    if not line.strip():
                        continue
                    doc = _decode(line)
                    err = error_of(doc)
                    if err is not None:
                        raise InfluxError(f"InfluxDB rejected the query: {err}")
                    for result in doc.get("results") or []:
                        for series in result.get("series") or []:
                            types, tags = await schema(str(series.get("name", "")))
                            batch = series_to_batch(
                                series, types, db=db, rp=batch_rp, tag_keys=tags
                            )
                            points += len(batch)
                            for out in coalescer.add(batch):
                                yield out
        except httpx.ConnectError as e:
            raise InfluxError(f"cannot reach InfluxDB at {session.url}: {e}") from e
        except httpx.TransportError as e:
            raise InfluxError(f"lost the connection to InfluxDB at {session.url}: {e}") from e
        for out in coalescer.flush():
            yield out
        if points == 0:
            raise InfluxError("the query returned no points")
