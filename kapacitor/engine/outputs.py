"""Outputs: `influxdb_out()`, `http_out()`, `publish()` and `loopback()` write a value out,
per evaluated point. The runtime turns each output statement's values of a batch into one
`PointBatch` (one row per working row holding a value; the instance's tags, the options'
measurement, field and tags); the interpreter sends them where they go."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kapacitor.engine.columns import Scalar, Text, Value
from kapacitor.engine.groups import IntArray
from kapacitor.model.batch import Column, FieldType, PointBatch, SeriesKey

__all__ = ["OUTPUT_KINDS", "Output", "OutputOp", "output_batch"]

OUTPUT_KINDS = ("influxdb_out", "http_out", "publish", "loopback")


@dataclass(frozen=True, slots=True)
class OutputOp:
    index: int  # the output's place among the script's outputs
    kind: str  # one of OUTPUT_KINDS
    value: int  # the column written
    boolean: bool  # the column holds truth values (1.0/0.0)
    field: str
    measurement: str = ""  # "": the point's
    tags: tuple[tuple[str, str], ...] = ()
    db: str = ""
    rp: str = ""
    cluster: str = ""  # influxdb_out
    target: str = ""  # http_out's name, publish's subject

    def inputs(self) -> tuple[int, ...]:
        return (self.value,)

    def remap(self, f: Callable[[int], int]) -> OutputOp:
        return OutputOp(
            self.index,
            self.kind,
            f(self.value),
            self.boolean,
            self.field,
            self.measurement,
            self.tags,
            self.db,
            self.rp,
            self.cluster,
            self.target,
        )

    def describe(self) -> str:
        where = {
            "influxdb_out": f"{self.db}.{self.rp or '(default)'}",
            "loopback": f"{self.db}.{self.rp}",
        }.get(self.kind, self.target)
        what = f"{self.measurement or '(point)'}.{self.field}"
        tags = "".join(f",{k}={v}" for k, v in self.tags)
        return f"{self.kind}#{self.index} %{self.value} -> {where} {what}{tags}"


@dataclass(frozen=True, slots=True)
class Output:
    """One output statement's rows of one batch."""

    op: OutputOp
    batch: PointBatch


def output_batch(
    op: OutputOp,
    value: Value | None,
    measurement_of_row: IntArray,
    measurements: Sequence[str],
    times: IntArray,
    instance_of_row: IntArray,
    instance_tags: Sequence[dict[str, str]],
    db: str,
    rp: str,
) -> PointBatch | None:
    """The working rows of `value` that hold one, as points; None when none does.

    Row i's measurement is `measurements[measurement_of_row[i]]`, its instance's tags
    `instance_tags[instance_of_row[i]]`. A series per (measurement, instance), not per row."""
    if isinstance(value, Scalar):
        ok = value.valid_rows()
        ftype = FieldType.BOOL if op.boolean else FieldType.FLOAT
        raw: Any = value.values != 0.0 if op.boolean else value.values
    elif isinstance(value, Text):
        ok = None if value.valid is None else np.flatnonzero(value.valid).astype(np.int64)
        ftype, raw = FieldType.STRING, value.values
    else:
        return None
    rows = np.arange(times.shape[0], dtype=np.int64) if ok is None else ok
    if rows.shape[0] == 0:
        return None
    meas = np.zeros(rows.shape[0], np.int64) if op.measurement else measurement_of_row[rows]
    inst = instance_of_row[rows].astype(np.int64)
    combined = meas * len(instance_tags) + inst
    uniq, idx = np.unique(combined, return_inverse=True)
    series = []
    for code in uniq.tolist():
        m, i = divmod(code, len(instance_tags))
        tags = dict(instance_tags[i])
        tags.update(op.tags)
        series.append(SeriesKey(op.measurement or measurements[m], tuple(sorted(tags.items()))))
    column = Column(ftype, np.asarray(raw)[rows])
    return PointBatch(
        op.db or db,
        op.rp or rp,
        series,
        idx.astype(np.int32),
        times[rows].astype(np.int64),
        {op.field: column},
    )
