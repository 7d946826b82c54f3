"""InfluxDB 1.x JSON answers as columnar point batches, without I/O.

What comes back is what was written: measurement, tags, original nanosecond timestamps and the
field types. InfluxDB's JSON answer loses some of that, so the conversion restores it from the
schema the caller asked for:

* Field types: JSON has one number type (a float `2.0` is sent as `2`), so each column is typed
  from the answer to `SHOW FIELD KEYS` (`integer` -> INT, `float` -> FLOAT, `unsigned` -> UINT,
  `boolean` -> BOOL, `string` -> STRING). A field stored with several types (different shards)
  is FLOAT when the types are all numeric. A column that is neither a field nor a tag key (an
  aggregate such as `mean`, or an alias) gets its type from the JSON values: booleans BOOL,
  strings STRING, numbers FLOAT.
* Tags: tags that come back as columns (`GROUP BY host` leaves `dc` as a column) are turned back
  into tags of the row's series, given the tag keys from `SHOW TAG KEYS`. An empty tag value is
  no tag (InfluxDB's own rule; GROUP BY * over several measurements reports tags a series lacks
  as "").
* Timestamps: the client asks for `epoch=ns`, so times are exact integers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from kapacitor.influx.errors import InfluxError
from kapacitor.model.batch import Column, FieldType, PointBatch, SeriesKey

__all__ = [
    "INFLUX_TYPES",
    "default_rp_of",
    "error_of",
    "field_types_of",
    "series_to_batch",
    "tag_keys_of",
]

INFLUX_TYPES: dict[str, FieldType] = {
    "float": FieldType.FLOAT,
    "integer": FieldType.INT,
    "unsigned": FieldType.UINT,
    "boolean": FieldType.BOOL,
    "string": FieldType.STRING,
}
_NUMERIC = frozenset({FieldType.FLOAT, FieldType.INT, FieldType.UINT})


def error_of(doc: Any) -> str | None:
    """The error an answer document (or one of its results) reports; None when it has none."""
    if not isinstance(doc, dict):
        return None
    if doc.get("error"):
        return str(doc["error"])
    for result in doc.get("results") or []:
        if isinstance(result, dict) and result.get("error"):
            return str(result["error"])
    return None


def default_rp_of(doc: Mapping[str, Any]) -> str:
    """The default retention policy in the answer to `SHOW RETENTION POLICIES` ("" if none)."""
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


def tag_keys_of(doc: Mapping[str, Any]) -> set[str]:
    """The tag keys in the answer to `SHOW TAG KEYS`."""
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
