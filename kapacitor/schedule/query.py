"""A scheduled plugin's query: checked when it is defined, given each tick's time range, and
its answer turned into point batches (each result series becomes its instance's rows; its
columns are the fields the script reads, `mean` or an alias such as `idle`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kapacitor.errors import InfluxError, PluginError
from kapacitor.influx.influxql import mask, source_of
from kapacitor.influx.series import error_of, series_to_batch
from kapacitor.model.batch import PointBatch

__all__ = ["check_query", "query_db", "query_for", "result_batches"]

_SELECT = re.compile(r"\s*SELECT\b", re.I)
_INTO = re.compile(r"\bINTO\b", re.I)
_WHERE = re.compile(r"\bWHERE\b", re.I)
_TIME = re.compile(r"(?<![\w.])time\b", re.I)
# Where the WHERE clause (or, without one, the FROM clause) ends.
_AFTER_WHERE = re.compile(
    r"\b(?:GROUP\s+BY|ORDER\s+BY|LIMIT|OFFSET|SLIMIT|SOFFSET)\b|\b(?:fill|tz)\s*\(", re.I
)


def _where_span(masked: str) -> tuple[int, int] | None:
    """(start of the condition, its end) of the WHERE clause; None without one."""
    m = _WHERE.search(masked)
    if m is None:
        return None
    end = _AFTER_WHERE.search(masked, m.end())
    return m.end(), (end.start() if end else len(masked.rstrip()))


def check_query(query: str) -> None:
    """PluginError unless `query` is one SELECT statement, writing nothing, with no time
    condition of its own (the scheduler adds each tick's)."""
    text = query.strip().rstrip(";")
    masked = mask(text)
    if not text:
        raise PluginError("--query is empty")
    if ";" in masked:
        raise PluginError("--query must be one SELECT statement, not several")
    if not _SELECT.match(masked):
        raise PluginError("--query must be a SELECT statement")
    if _INTO.search(masked):
        raise PluginError("--query must not write (SELECT ... INTO): use influxdb_out()")
    span = _where_span(masked)
    if span is not None and _TIME.search(masked[span[0] : span[1]]):
        raise PluginError(
            "--query must not have a time condition: each tick queries"
            " [tick - offset - period, tick - offset)"
        )


def query_for(query: str, start_ns: int, end_ns: int) -> str:
    """`query` restricted to the times [start_ns, end_ns)."""
    text = query.strip().rstrip(";")
    masked = mask(text)
    cond = f"time >= {start_ns} AND time < {end_ns}"
    span = _where_span(masked)
    if span is not None:
        a, b = span
        return f"{text[:a]} ({text[a:b].strip()}) AND {cond} {text[b:]}".rstrip()
    end = _AFTER_WHERE.search(masked)
    at = end.start() if end else len(text)
    return f"{text[:at].rstrip()} WHERE {cond} {text[at:]}".rstrip()


def query_db(query: str, db: str) -> str:
    """The database a query reads: the one its FROM names, else `db` (define --db)."""
    named, _ = source_of(query)
    return named or db


def result_batches(doc: Mapping[str, Any], db: str, rp: str) -> list[PointBatch]:
    """The answer's series as batches, one per series (none for an empty answer); InfluxError
    when the answer reports an error."""
    err = error_of(doc)
    if err is not None:
        raise InfluxError(f"InfluxDB rejected the query: {err}")
    out = []
    for result in doc.get("results") or []:
        for series in result.get("series") or []:
            batch = series_to_batch(series, {}, db=db, rp=rp)
            if len(batch):
                out.append(batch)
    return out
