"""InfluxQL text, without I/O: the rewriting and the statements the InfluxDB client sends.

* Tags: InfluxDB returns a series' tags only for the tags in its GROUP BY. A query with no
  GROUP BY clause gets ` GROUP BY *` appended (before any fill/ORDER BY/LIMIT/OFFSET/SLIMIT/
  SOFFSET/tz clause), so every series comes back with all its tags. A query that has a GROUP BY
  (with or without `*`) is sent as written.
* Source: a fully qualified `FROM "db"."rp"."m"` (or `FROM "rp"."m"`) names the database and
  retention policy the recorded batches carry.
"""

from __future__ import annotations

import re

__all__ = [
    "database_of",
    "mask",
    "quote_ident",
    "show_retention_policies",
    "show_schema",
    "source_of",
    "with_group_by_all",
]


def mask(query: str) -> str:
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
    masked = mask(query)
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


def source_of(query: str) -> tuple[str, str]:
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
    return source_of(query)[0]


def quote_ident(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def show_retention_policies(db: str) -> str:
    return f"SHOW RETENTION POLICIES ON {quote_ident(db)}"


def show_schema(what: str, db: str, rp: str, measurement: str) -> str:
    """`SHOW <what> ON db FROM rp.measurement` (`what`: FIELD KEYS or TAG KEYS); no rp: the
    database's default one."""
    source = quote_ident(measurement)
    if rp:
        source = f"{quote_ident(rp)}.{source}"
    return f"SHOW {what} ON {quote_ident(db)} FROM {source}"
