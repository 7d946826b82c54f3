"""Reading points out of InfluxDB 1.x with an InfluxQL query, as columnar point batches.

    query = "SELECT * FROM cpu WHERE time > now() - 1h"
    async for batch in query_batches("http://influx:8086", query, db="telegraf"):
        ...

What comes back is what was written: measurement, tags, original nanosecond timestamps and the
field types. InfluxDB's JSON answer loses some of that, so the client restores it:

* Field types: JSON has one number type (a float `2.0` is sent as `2`), so before converting
  the first series of a measurement the client asks `SHOW FIELD KEYS ON db FROM rp.measurement`
  (and `SHOW TAG KEYS`) and types each column from the answer (`integer` -> INT, `float` ->
  FLOAT, `unsigned` -> UINT, `boolean` -> BOOL, `string` -> STRING). A field stored with
  several types (different shards) is FLOAT when the types are all numeric. A column that is
  neither a field nor a tag key (an aggregate such as `mean`, or an alias) gets its type from
  the JSON values: booleans BOOL, strings STRING, numbers FLOAT.
* Tags: InfluxDB returns a series' tags only for the tags in its GROUP BY. A query with no
  GROUP BY clause gets ` GROUP BY *` appended (before any fill/ORDER BY/LIMIT/OFFSET/SLIMIT/
  SOFFSET/tz clause), so every series comes back with all its tags. A query that has a GROUP BY
  (with or without `*`) is sent as written; tags that then come back as columns (`GROUP BY host`
  leaves `dc` as a column) are turned back into tags of the row's series, because the client
  knows the tag keys. An empty tag value is no tag (InfluxDB's own rule; GROUP BY * over several
  measurements reports tags a series lacks as "").
* Timestamps: the query runs with `epoch=ns`, so times are exact integers.

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

import re
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import orjson

from kapacitor.errors import KapacitorError
from kapacitor.model.batch import Column, FieldType, PointBatch, SeriesKey
from kapacitor.replay.merge import Coalescer

__all__ = [
    "InfluxError",
    "field_types_of",
    "query_batches",
    "series_to_batch",
    "with_group_by_all",
]

DEFAULT_TIMEOUT_S = 30.0

INFLUX_TYPES: dict[str, FieldType] = {
    "float": FieldType.FLOAT,
    "integer": FieldType.INT,
    "unsigned": FieldType.UINT,
    "boolean": FieldType.BOOL,
    "string": FieldType.STRING,
}
_NUMERIC = frozenset({FieldType.FLOAT, FieldType.INT, FieldType.UINT})


class InfluxError(KapacitorError):
    """InfluxDB could not be reached, refused us, rejected the query or returned nothing."""


# --------------------------------------------------------------------------- query rewriting


def _mask(query: str) -> str:
    """`query` with the insides of quotes and parentheses blanked out (same length)."""
    out: list[str] = []
    quote = ""
    depth = 0
    escaped = False
    for ch in query:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
                out.append(ch)
                continue
            out.append(" ")
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        elif ch == "(":
            depth += 1
            out.append(ch if depth == 1 else " ")
        elif ch == ")":
            depth = max(0, depth - 1)
            out.append(ch if depth == 0 else " ")
        else:
            out.append(ch if depth == 0 else " ")
    return "".join(out)


_SELECT = re.compile(r"\s*SELECT\b", re.I)
_GROUP_BY = re.compile(r"\bGROUP\s+BY\b", re.I)
_TRAILING = re.compile(
    r"\b(?:fill\s*\(|ORDER\s+BY\b|LIMIT\b|OFFSET\b|SLIMIT\b|SOFFSET\b|tz\s*\()", re.I
)


def _statement_with_group_by_all(stmt: str, masked: str) -> str:
    if not _SELECT.match(masked) or _GROUP_BY.search(masked):
        return stmt
    end = len(stmt.rstrip())
    m = _TRAILING.search(masked, 0, end)
    if m is None:
        return stmt[:end] + " GROUP BY *" + stmt[end:]
    head = stmt[: m.start()].rstrip()
    return head + " GROUP BY * " + stmt[m.start() :]


def with_group_by_all(query: str) -> str:
    """`query` with ` GROUP BY *` added to each SELECT statement that has no GROUP BY clause."""
    masked = _mask(query)
    parts: list[str] = []
    start = 0
    for i, ch in enumerate(masked + ";"):
        if ch == ";":
            parts.append(_statement_with_group_by_all(query[start:i], masked[start:i]))
            start = i + 1
    return ";".join(parts)


_IDENT = r'(?:"(?:[^"\\]|\\.)*"|[A-Za-z_][A-Za-z0-9_]*)'
_QUALIFIED = re.compile(rf"\bFROM\s+({_IDENT})\s*\.\s*({_IDENT})?\s*\.\s*{_IDENT}", re.I)
_RP_QUALIFIED = re.compile(rf"\bFROM\s+({_IDENT})\s*\.\s*{_IDENT}", re.I)


def _unquote(ident: str) -> str:
    if ident.startswith('"'):
        return re.sub(r"\\(.)", r"\1", ident[1:-1])
    return ident


def _source_of(query: str) -> tuple[str, str]:
    """(db, rp) named by the first fully or rp-qualified FROM of `query`, "" when not named."""
    m = _QUALIFIED.search(query)
    if m is not None:
        return _unquote(m.group(1)), _unquote(m.group(2) or "")
    m = _RP_QUALIFIED.search(query)
    if m is not None:
        return "", _unquote(m.group(1))
    return "", ""


def database_of(query: str) -> str:
    """The database a query names in a qualified FROM ("" when it names none)."""
    return _source_of(query)[0]


def quote_ident(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --------------------------------------------------------------------------- JSON -> batches


def field_types_of(doc: Mapping[str, Any]) -> dict[str, dict[str, FieldType]]:
    """measurement -> field -> type, from the answer to `SHOW FIELD KEYS` (chunked or not)."""
    out: dict[str, dict[str, FieldType]] = {}
    for result in doc.get("results") or []:
        for series in result.get("series") or []:
            fields = out.setdefault(str(series.get("name", "")), {})
            columns = list(series.get("columns") or [])
            try:
                ki, ti = columns.index("fieldKey"), columns.index("fieldType")
            except ValueError:
                continue
            for row in series.get("values") or []:
                key, tname = str(row[ki]), str(row[ti])
                ftype = INFLUX_TYPES.get(tname, FieldType.STRING)
                known = fields.get(key)
                if known is None or known is ftype:
                    fields[key] = ftype
                elif known in _NUMERIC and ftype in _NUMERIC:
                    fields[key] = FieldType.FLOAT
                # else: keep the first type; conversion reports values that do not fit
    return out


def _tag_keys_of(doc: Mapping[str, Any]) -> set[str]:
    keys: set[str] = set()
    for result in doc.get("results") or []:
        for series in result.get("series") or []:
            for row in series.get("values") or []:
                if row:
                    keys.add(str(row[0]))
    return keys


def _infer(raw: Sequence[Any]) -> FieldType:
    kinds = {type(v) for v in raw if v is not None}
    if kinds == {bool}:
        return FieldType.BOOL
    if kinds and kinds <= {int, float}:
        return FieldType.FLOAT
    return FieldType.STRING


def _bad(name: str, measurement: str, ftype: FieldType, v: Any) -> InfluxError:
    return InfluxError(
        f"field {name!r} of {measurement!r} is {ftype.name.lower()} in InfluxDB's schema "
        f"but the query returned {v!r}"
    )


def _column(name: str, measurement: str, raw: Sequence[Any], ftype: FieldType) -> Column | None:
    """The typed column of one JSON column; None when no row has a value."""
    present = np.fromiter((v is not None for v in raw), dtype=np.bool_, count=len(raw))
    if not present.any():
        return None
    values: npt.NDArray[Any]
    if ftype is FieldType.STRING:
        values = np.array(["" if v is None else str(v) for v in raw], dtype=object)
    elif ftype is FieldType.BOOL:
        for v in raw:
            if v is not None and not isinstance(v, bool):
                raise _bad(name, measurement, ftype, v)
        values = np.array([v is True for v in raw], dtype=np.bool_)
    else:
        for v in raw:
            if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
                raise _bad(name, measurement, ftype, v)
        if ftype is FieldType.FLOAT:
            values = np.array([0.0 if v is None else float(v) for v in raw], dtype=np.float64)
        else:
            ints: list[int] = []
            for v in raw:
                if v is None:
                    ints.append(0)
                elif isinstance(v, float) and not v.is_integer():
                    raise _bad(name, measurement, ftype, v)
                else:
                    ints.append(int(v))
            try:
                values = np.array(ints, dtype=np.int64 if ftype is FieldType.INT else np.uint64)
            except OverflowError:
                raise InfluxError(
                    f"field {name!r} of {measurement!r} has a value out of range"
                ) from None
    return Column(ftype, values, None if bool(present.all()) else present)


def series_to_batch(
    series: Mapping[str, Any],
    field_types: Mapping[str, FieldType],
    *,
    db: str,
    rp: str,
    tag_keys: Iterable[str] | None = None,
) -> PointBatch:
    """One series of an InfluxDB JSON answer (`name`, `tags`, `columns`, `values`; columns[0]
    is `time`, in integer ns) as a batch, rows in the answer's order.

    Columns in `field_types` are fields of that type; columns in `tag_keys` (and not fields)
    are tags, added to the series tags row by row; any other column is a field typed from its
    values. Tags with an empty value are dropped. Columns without any value, and rows without
    any field value, are left out.
    """
    measurement = str(series.get("name", ""))
    columns = [str(c) for c in series.get("columns") or []]
    rows: list[Sequence[Any]] = list(series.get("values") or [])
    if not columns or columns[0] != "time":
        raise InfluxError(f"series {measurement!r} of the answer has no time column")
    base_tags = {
        str(k): str(v) for k, v in (series.get("tags") or {}).items() if v not in (None, "")
    }
    tag_set = set(tag_keys or ()) - set(field_types)
    n = len(rows)
    if n == 0:
        return PointBatch(db, rp, [], np.zeros(0, np.int32), np.zeros(0, np.int64), {})
    transposed = list(zip(*rows, strict=True))
    raw_times = transposed[0]
    for t in raw_times:
        if not isinstance(t, int) or isinstance(t, bool):
            raise InfluxError(f"series {measurement!r} has a non-integer time {t!r}")
    times = np.array(raw_times, dtype=np.int64)

    fields: dict[str, Column] = {}
    tag_columns: list[tuple[str, Sequence[Any]]] = []
    for name, raw in zip(columns[1:], transposed[1:], strict=True):
        if name in tag_set:
            tag_columns.append((name, raw))
            continue
        ftype = field_types.get(name)
        col = _column(name, measurement, raw, _infer(raw) if ftype is None else ftype)
        if col is not None:
            fields[name] = col

    if tag_columns:
        index: dict[tuple[Any, ...], int] = {}
        keys: list[SeriesKey] = []
        sidx = np.empty(n, dtype=np.int32)
        for r in range(n):
            values = tuple(raw[r] for _, raw in tag_columns)
            i = index.get(values)
            if i is None:
                tags = dict(base_tags)
                for (name, _), v in zip(tag_columns, values, strict=True):
                    if v not in (None, ""):
                        tags[name] = str(v)
                i = index[values] = len(keys)
                keys.append(SeriesKey(measurement, tuple(sorted(tags.items()))))
            sidx[r] = i
    else:
        keys = [SeriesKey(measurement, tuple(sorted(base_tags.items())))]
        sidx = np.zeros(n, dtype=np.int32)

    batch = PointBatch(db, rp, keys, sidx, times, fields)
    has_field = np.zeros(n, dtype=np.bool_)
    for col in fields.values():
        has_field |= col.present_mask(n)
    if not has_field.all():
        batch = batch.take(np.flatnonzero(has_field))
    return batch


# --------------------------------------------------------------------------- HTTP


def _error_of(doc: Any) -> str | None:
    if not isinstance(doc, dict):
        return None
    if doc.get("error"):
        return str(doc["error"])
    for result in doc.get("results") or []:
        if isinstance(result, dict) and result.get("error"):
            return str(result["error"])
    return None


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
            message = _error_of(orjson.loads(body)) or body
        except orjson.JSONDecodeError:
            message = body
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
        err = _error_of(doc)
        if err is not None:
            raise InfluxError(f"InfluxDB rejected the query: {err}")
        return doc


async def _default_rp(session: _Session, db: str) -> str:
    doc = await session.get(f"SHOW RETENTION POLICIES ON {quote_ident(db)}", "")
    for result in doc.get("results") or []:
        for series in result.get("series") or []:
            columns = list(series.get("columns") or [])
            if "name" not in columns or "default" not in columns:
                continue
            ni, di = columns.index("name"), columns.index("default")
            for row in series.get("values") or []:
                if row[di] is True:
                    return str(row[ni])
    return ""


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
    named_db, named_rp = _source_of(query)
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
                source = (
                    f"{quote_ident(db)} FROM {quote_ident(batch_rp)}.{quote_ident(measurement)}"
                )
                if not batch_rp:
                    source = f"{quote_ident(db)} FROM {quote_ident(measurement)}"
                fdoc = await session.get(f"SHOW FIELD KEYS ON {source}", db)
                tdoc = await session.get(f"SHOW TAG KEYS ON {source}", db)
                found = schemas[measurement] = (
                    field_types_of(fdoc).get(measurement, {}),
                    _tag_keys_of(tdoc),
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
                    err = _error_of(doc)
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
