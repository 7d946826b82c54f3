"""Columnar micro-batches of points: what crosses NATS between ingest, matcher and interpreter.

A batch holds many points (rows) of possibly many series. Series keys are stored once and rows
point at them through `series_idx`; each field is one typed column with a presence mask, so no
per-point Python object exists on the hot path.

Wire format: one msgpack map (msgspec), numeric columns as raw little-endian bytes, compressed
as `kapacitor.compression` says (R1's batches 16x, noisy values about 2x).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from kapacitor.compression import packed, unpacked
from kapacitor.errors import CodecError

WIRE_VERSION = 1


class FieldType(IntEnum):
    FLOAT = 0
    INT = 1
    UINT = 2
    BOOL = 3
    STRING = 4


_DTYPES: dict[FieldType, Any] = {
    FieldType.FLOAT: np.dtype("<f8"),
    FieldType.INT: np.dtype("<i8"),
    FieldType.UINT: np.dtype("<u8"),
    FieldType.BOOL: np.dtype("?"),
}


_SEP = "\x00"


class SeriesKey:
    """A series: measurement plus its tag set, tags sorted by key.

    Immutable. Equality and hashing go through one precomputed string (`wire`), because series
    keys are dict keys on every hot path and Python caches a str's hash but not a tuple's.
    """

    __slots__ = ("_hash", "measurement", "plain", "tags", "wire")

    measurement: str
    tags: tuple[tuple[str, str], ...]
    wire: str
    plain: bool  # no part holds the separator: `wire` alone says what the series is
    _hash: int

    def __init__(self, measurement: str, tags: tuple[tuple[str, str], ...] = ()) -> None:
        object.__setattr__(self, "measurement", measurement)
        object.__setattr__(self, "tags", tags)
        parts = [measurement]
        for k, v in tags:
            parts.append(k)
            parts.append(v)
        wire = _SEP.join(parts)
        object.__setattr__(self, "wire", wire)
        object.__setattr__(self, "plain", wire.count(_SEP) == 2 * len(tags))
        object.__setattr__(self, "_hash", hash(wire))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("SeriesKey is immutable")

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SeriesKey) and other.wire == self.wire

    def __repr__(self) -> str:
        return f"SeriesKey({self.measurement!r}, {self.tags!r})"

    def __reduce__(self) -> tuple[type[SeriesKey], tuple[str, tuple[tuple[str, str], ...]]]:
        return (SeriesKey, (self.measurement, self.tags))

    def tag(self, key: str) -> str | None:
        for k, v in self.tags:
            if k == key:
                return v
        return None

    def __str__(self) -> str:
        if not self.tags:
            return self.measurement
        return self.measurement + "," + ",".join(f"{k}={v}" for k, v in self.tags)


_SERIES_CACHE: dict[str, SeriesKey] = {}
_SERIES_CACHE_LIMIT = 200_000


def _series_from_wire(item: Any) -> SeriesKey:
    """A series from its wire form: the NUL-joined string when no part has a NUL, else lists."""
    if isinstance(item, str):
        sk = _SERIES_CACHE.get(item)
        if sk is None:
            parts = item.split(_SEP)
            if len(parts) % 2 != 1:
                raise CodecError("malformed series key in batch")
            sk = SeriesKey(parts[0], tuple(zip(parts[1::2], parts[2::2], strict=True)))
            if len(_SERIES_CACHE) >= _SERIES_CACHE_LIMIT:
                _SERIES_CACHE.clear()
            _SERIES_CACHE[item] = sk
        return sk
    m, tags = item
    return SeriesKey(m, tuple((k, v) for k, v in tags))


def _series_to_wire(sk: SeriesKey) -> Any:
    if sk.plain:
        return sk.wire
    return [sk.measurement, [list(t) for t in sk.tags]]


@dataclass(slots=True)
class Column:
    """One field across the rows of a batch.

    `values` has one entry per row (an object array of str for STRING); entries where `present`
    is False are meaningless. `present` is None when every row has the field.
    """

    type: FieldType
    values: npt.NDArray[Any]
    present: npt.NDArray[np.bool_] | None = None

    def take(self, idx: npt.NDArray[np.intp]) -> Column:
        return Column(
            self.type, self.values[idx], None if self.present is None else self.present[idx]
        )

    def present_mask(self, n: int) -> npt.NDArray[np.bool_]:
        if self.present is None:
            return np.ones(n, dtype=np.bool_)
        return self.present


@dataclass(slots=True)
class PointBatch:
    """Rows of points, columnar. `time` is int64 nanoseconds since the epoch."""

    db: str
    rp: str
    series: list[SeriesKey]
    series_idx: npt.NDArray[np.int32]
    time: npt.NDArray[np.int64]
    fields: dict[str, Column] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.time.shape[0])

    def take(self, idx: npt.NDArray[np.intp]) -> PointBatch:
        """The rows at `idx`, in that order; unused series and all-absent fields are dropped."""
        used, inverse = _compact(self.series_idx[idx], len(self.series))
        return PointBatch(
            self.db,
            self.rp,
            [self.series[i] for i in used.tolist()],
            inverse,
            self.time[idx],
            take_fields(self.fields, idx),
        )

    def measurements(self) -> npt.NDArray[Any]:
        """The measurement of every distinct series, as an object array aligned with `series`."""
        return np.array([s.measurement for s in self.series], dtype=object)


def _compact(
    sidx: npt.NDArray[np.int32], n_series: int
) -> tuple[npt.NDArray[Any], npt.NDArray[np.int32]]:
    """The series indexes `sidx` uses, ascending, and `sidx` renumbered into them: what
    np.unique(sidx, return_inverse=True) gives, by marking instead of sorting while the
    series are not many more than the rows (a replay takes 20,000 rows at a time)."""
    if n_series > 4 * sidx.shape[0] + 64:
        used, inverse = np.unique(sidx, return_inverse=True)
        return used, inverse.astype(np.int32, copy=False).reshape(-1)
    mark = np.zeros(n_series, np.bool_)
    mark[sidx] = True
    renumber = np.cumsum(mark, dtype=np.int32) - 1
    return np.flatnonzero(mark), renumber[sidx]


def take_fields(fields: Mapping[str, Column], rows: npt.NDArray[np.intp]) -> dict[str, Column]:
    """The columns at `rows`; a field no row has is dropped, one every row has loses its mask."""
    out: dict[str, Column] = {}
    for name, col in fields.items():
        sub = col.take(rows)
        if sub.present is not None:
            if not sub.present.any():
                continue
            if sub.present.all():
                sub.present = None
        out[name] = sub
    return out


_JOIN_DTYPES: dict[FieldType, Any] = {
    FieldType.FLOAT: np.float64,
    FieldType.INT: np.int64,
    FieldType.UINT: np.uint64,
    FieldType.BOOL: np.bool_,
    FieldType.STRING: object,
}


def field_types(batch: PointBatch) -> dict[str, FieldType]:
    return {name: col.type for name, col in batch.fields.items()}


def compatible(types: Mapping[str, FieldType], batch: PointBatch) -> bool:
    """Whether `batch` gives every field also in `types` the same type."""
    return all(types.get(name, col.type) is col.type for name, col in batch.fields.items())


def _filler(ftype: FieldType, n: int) -> npt.NDArray[Any]:
    if ftype is FieldType.STRING:
        return np.full(n, "", dtype=object)
    return np.zeros(n, dtype=_JOIN_DTYPES[ftype])


def concat_batches(batches: Sequence[PointBatch]) -> PointBatch:
    """One batch holding the rows of all `batches`, in order.

    Raises ValueError when the batches differ in db or rp, or type one field differently.
    """
    if not batches:
        raise ValueError("concat_batches needs at least one batch")
    first = batches[0]
    if len(batches) == 1:
        return first
    types: dict[str, FieldType] = {}
    for b in batches:
        if b.db != first.db or b.rp != first.rp:
            raise ValueError(
                f"cannot join batches of {first.db!r}/{first.rp!r} and {b.db!r}/{b.rp!r}"
            )
        for name, col in b.fields.items():
            known = types.setdefault(name, col.type)
            if known is not col.type:
                raise ValueError(
                    f"field {name!r} is {known.name.lower()} in one batch "
                    f"and {col.type.name.lower()} in another"
                )
    # Keyed by the wire string, whose hash str caches: a SeriesKey's is a Python-level call.
    index: dict[str, int] = {}
    series: list[SeriesKey] = []
    sidx_parts: list[npt.NDArray[np.int32]] = []
    for b in batches:
        ids = []
        for s in b.series:
            j = index.get(s.wire)
            if j is None:
                j = index[s.wire] = len(series)
                series.append(s)
            ids.append(j)
        mapping = np.array(ids, dtype=np.int32)
        sidx_parts.append(mapping[b.series_idx] if len(b) else np.zeros(0, np.int32))
    fields: dict[str, Column] = {}
    for name, ftype in types.items():
        values: list[npt.NDArray[Any]] = []
        present: list[npt.NDArray[np.bool_]] = []
        for b in batches:
            n = len(b)
            part = b.fields.get(name)
            if part is None:
                values.append(_filler(ftype, n))
                present.append(np.zeros(n, dtype=np.bool_))
            else:
                values.append(np.asarray(part.values, dtype=_JOIN_DTYPES[ftype]))
                present.append(part.present_mask(n))
        mask = np.concatenate(present)
        fields[name] = Column(ftype, np.concatenate(values), None if bool(mask.all()) else mask)
    return PointBatch(
        first.db,
        first.rp,
        series,
        np.concatenate(sidx_parts).astype(np.int32, copy=False),
        np.concatenate([b.time for b in batches]).astype(np.int64, copy=False),
        fields,
    )


def joinable_runs(batches: Sequence[PointBatch], max_rows: int) -> list[tuple[int, int]]:
    """`batches` cut into runs `[start, end)` of consecutive batches `concat_batches` can join
    (same db and rp, one type per field), each of at most `max_rows` rows unless one batch
    alone has more. Deterministic: the same batches always give the same runs."""
    runs: list[tuple[int, int]] = []
    start, rows = 0, 0
    types: dict[str, FieldType] = {}
    for i, b in enumerate(batches):
        if i > start:
            head = batches[start]
            if (
                rows + len(b) > max_rows
                or b.db != head.db
                or b.rp != head.rp
                or not compatible(types, b)
            ):
                runs.append((start, i))
                start, rows, types = i, 0, {}
        rows += len(b)
        types.update(field_types(b))
    if batches:
        runs.append((start, len(batches)))
    return runs


def empty_batch(db: str = "", rp: str = "") -> PointBatch:
    return PointBatch(db, rp, [], np.zeros(0, np.int32), np.zeros(0, np.int64), {})


def encode_batch(batch: PointBatch) -> bytes:
    fields: dict[str, list[Any]] = {}
    for name, col in batch.fields.items():
        if col.type is FieldType.STRING:
            vals: Any = [str(v) if v is not None else "" for v in col.values.tolist()]
        else:
            vals = np.ascontiguousarray(col.values, dtype=_DTYPES[col.type]).tobytes()
        present = None if col.present is None else np.packbits(col.present).tobytes()
        fields[name] = [int(col.type), vals, present]
    doc = {
        "v": WIRE_VERSION,
        "db": batch.db,
        "rp": batch.rp,
        "n": len(batch),
        "series": [_series_to_wire(s) for s in batch.series],
        "sidx": np.ascontiguousarray(batch.series_idx, dtype="<i4").tobytes(),
        "time": np.ascontiguousarray(batch.time, dtype="<i8").tobytes(),
        "fields": fields,
    }
    return packed(msgspec.msgpack.encode(doc))


def decode_batch(data: bytes) -> PointBatch:
    """Inverse of `encode_batch`; raises CodecError on anything malformed."""
    try:
        doc = msgspec.msgpack.decode(unpacked(data, "point batch"))
        if doc.get("v") != WIRE_VERSION:
            raise CodecError(f"unsupported batch version {doc.get('v')!r}")
        n = int(doc["n"])
        series = [_series_from_wire(item) for item in doc["series"]]
        sidx = np.frombuffer(doc["sidx"], dtype="<i4")
        times = np.frombuffer(doc["time"], dtype="<i8")
        if sidx.shape[0] != n or times.shape[0] != n:
            raise CodecError("batch columns disagree on the row count")
        if n and (sidx.min() < 0 or sidx.max() >= len(series)):
            raise CodecError("batch series index out of range")
        fields: dict[str, Column] = {}
        for name, (code, vals, present) in doc["fields"].items():
            ftype = FieldType(code)
            if ftype is FieldType.STRING:
                values = np.array(vals, dtype=object)
            else:
                values = np.frombuffer(vals, dtype=_DTYPES[ftype])
            if values.shape[0] != n:
                raise CodecError(f"field {name!r} has {values.shape[0]} rows, expected {n}")
            mask = None
            if present is not None:
                mask = np.unpackbits(np.frombuffer(present, np.uint8), count=n).astype(np.bool_)
            fields[name] = Column(ftype, values, mask)
        return PointBatch(str(doc["db"]), str(doc["rp"]), series, sidx, times, fields)
    except CodecError:
        raise
    except (msgspec.DecodeError, KeyError, TypeError, ValueError, AttributeError) as e:
        raise CodecError(f"undecodable point batch: {e}") from e
