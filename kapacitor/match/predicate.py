"""Where clauses compiled into vectorized predicates over PointBatches.

`compile_where(expr)` turns a parsed where clause (or None: match everything) into a
`Predicate`; `Predicate.evaluate(batch, candidate_rows)` answers, for each candidate row, whether
the point matches.

Semantics (also in docs/where.md):

* A bare or double-quoted reference `x` resolves per point: the TAG `x` if the point's series
  has that tag key, else the FIELD `x` if the point has that field, else it is a missing tag and
  equals the empty string `''` (InfluxQL: `host = ''` matches points without a `host` tag).
  `"x"::tag` is always the tag (missing: `''`); `"x"::field` is always the field.
* Tags are strings. A tag compared with a string compares as a string (`<` is lexicographic by
  code point); with a regex, `=~` is an unanchored `re.search`. A tag compared with a number or a
  boolean is an incompatible comparison (see below): `host = 1` is false even for host "1".
* Fields compare by type: int / uint / float columns against a number literal numerically (mixed
  int/float goes through float64, so integers beyond 2**53 compared with a float are approximate;
  int vs int is exact); string columns against a string or a regex; bool columns against
  `true` / `false` with `=` / `!=`.
* An incompatible comparison (number vs string, bool vs number, regex vs non-string, ...) and any
  comparison with an `::field` reference whose field the point lacks is FALSE, whatever the
  operator, `!=` and `!~` included. `not` then negates it plainly (two-valued logic, no NULL):
  `not (usage > 1)` is true for a point without `usage`. NaN follows IEEE: only `!=` is true.

Efficiency: a comparison on a reference that resolves to a tag depends on the series alone, so it
is evaluated once per distinct tag set and cached in the Predicate. Per tag set the whole clause
is folded with three-valued logic (true / false / depends on fields); only rows of "depends"
series are evaluated column-wise, with numpy, and each AND / OR operand only on the rows still
undecided. String fields are the one per-row Python loop (object arrays).

The cache is keyed by tag-set ids from a `TagsetIndex` shared by all predicates (by default the
module's DEFAULT_INDEX): a batch's series are looked up once for all predicates, and each
predicate then reads its per-id outcome tables with numpy fancy indexing. The index forgets
everything past `limit` (100k) tag sets, and predicates drop their tables with it.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from kapacitor.match.where.ast import (
    And,
    BoolLit,
    Compare,
    NumberLit,
    Or,
    RefKind,
    RegexLit,
    StringLit,
    Value,
    WhereExpr,
)
from kapacitor.model.batch import Column, FieldType, PointBatch, SeriesKey

__all__ = ["DEFAULT_CACHE_LIMIT", "DEFAULT_INDEX", "Predicate", "TagsetIndex", "compile_where"]

DEFAULT_CACHE_LIMIT = 100_000

BoolArray = npt.NDArray[np.bool_]
IndexArray = npt.NDArray[np.intp]
Tags = tuple[tuple[str, str], ...]

# Per-series outcome of a comparison or of the whole clause.
_FALSE, _TRUE, _ROWS = 0, 1, 2  # _ROWS: depends on the rows' fields

# The same functions serve Python scalars (tags) and numpy arrays (columns).
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

_NUMERIC = (FieldType.FLOAT, FieldType.INT, FieldType.UINT)
_INT_RANGE = {FieldType.INT: (-(2**63), 2**63 - 1), FieldType.UINT: (0, 2**64 - 1)}


class _Leaf:
    """One comparison: its per-series (tag) test and its per-row (field) test."""

    __slots__ = ("_op", "_search", "empty", "kind", "name", "negate", "value")
    _op: Callable[[Any, Any], Any]
    _search: Callable[[str], re.Match[str] | None] | None
    empty: bool
    kind: RefKind
    name: str
    negate: bool
    value: Value

    def __init__(self, cmp: Compare) -> None:
        self.name = cmp.ref.name
        self.kind = cmp.ref.kind
        self.value = cmp.value
        self.negate = cmp.op == "!~"
        self._op = _OPS.get(cmp.op, operator.eq)
        self._search = cmp.value.regex.search if isinstance(cmp.value, RegexLit) else None
        # What a point with neither tag nor field gets for a bare reference (the '' tag).
        self.empty = self.test_str("")

    def test_str(self, v: str) -> bool:
        """The comparison for a tag value (a missing tag is '')."""
        if self._search is not None:
            return (self._search(v) is None) if self.negate else (self._search(v) is not None)
        if isinstance(self.value, StringLit):
            return bool(self._op(v, self.value.value))
        return False  # tags are strings: number and bool literals never match them

    def series_code(self, tags: dict[str, str]) -> int:
        if self.kind == "field":
            return _ROWS
        v = tags.get(self.name)
        if v is None:
            if self.kind == "any":
                return _ROWS  # a field of that name, or else the '' tag: decided per row
            v = ""
        return _TRUE if self.test_str(v) else _FALSE

    def eval_rows(self, batch: PointBatch, rows: IndexArray) -> BoolArray:
        """The comparison for rows whose series has no such tag (field, else '' if bare)."""
        n = rows.shape[0]
        col = batch.fields.get(self.name)
        if col is None:
            return np.full(n, self.empty and self.kind == "any", dtype=np.bool_)
        if col.present is None:
            return self._test_column(col, rows)
        present = col.present[rows]
        out = np.full(n, self.empty and self.kind == "any", dtype=np.bool_)
        if present.any():
            out[present] = self._test_column(col, rows[present])
        return out

    def _test_column(self, col: Column, rows: IndexArray) -> BoolArray:
        t, v = col.type, self.value
        n = rows.shape[0]
        if isinstance(v, NumberLit) and t in _NUMERIC:
            return self._numeric(col.values[rows], t, v.value)
        if t is FieldType.STRING:
            vals = col.values[rows]
            if self._search is not None:
                search, want = self._search, not self.negate
                return np.fromiter(((search(s) is not None) is want for s in vals), np.bool_, n)
            if isinstance(v, StringLit):
                return np.asarray(self._op(vals, v.value), dtype=np.bool_)
        if t is FieldType.BOOL and isinstance(v, BoolLit):
            return np.asarray(self._op(col.values[rows].astype(np.bool_), v.value), np.bool_)
        return np.zeros(n, dtype=np.bool_)  # incompatible types

    def _numeric(self, vals: npt.NDArray[Any], t: FieldType, lit: int | float) -> BoolArray:
        if isinstance(lit, int) and t in _INT_RANGE:
            lo, hi = _INT_RANGE[t]
            if lit < lo or lit > hi:
                # Out of the column's range: every value sits on the same side of the literal.
                # (numpy would raise OverflowError or lose precision here.)
                side = bool(self._op(0, 1) if lit > hi else self._op(1, 0))
                return np.full(vals.shape[0], side, dtype=np.bool_)
            scalar: Any = np.int64(lit) if t is FieldType.INT else np.uint64(lit)
            return np.asarray(self._op(vals, scalar), dtype=np.bool_)
        return np.asarray(self._op(vals, float(lit)), dtype=np.bool_)


# Tree of the clause over leaf indices. `fold` is three-valued (per series, from leaf codes);
# `rows` is two-valued (per row, from the codes matrix of those rows' series).


class _LeafNode:
    __slots__ = ("i", "leaf")

    def __init__(self, i: int, leaf: _Leaf) -> None:
        self.i = i
        self.leaf = leaf

    def fold(self, codes: list[int]) -> int:
        return codes[self.i]

    def rows(self, batch: PointBatch, rows: IndexArray, codes: npt.NDArray[np.int8]) -> BoolArray:
        c = codes[:, self.i]
        res: BoolArray = c == _TRUE
        need = np.flatnonzero(c == _ROWS)
        if need.size:
            res[need] = self.leaf.eval_rows(batch, rows[need])
        return res


class _AndNode:
    __slots__ = ("children",)

    def __init__(self, children: list[_Node]) -> None:
        self.children = children

    def fold(self, codes: list[int]) -> int:
        out = _TRUE
        for c in self.children:
            v = c.fold(codes)
            if v == _FALSE:
                return _FALSE
            if v == _ROWS:
                out = _ROWS
        return out

    def rows(self, batch: PointBatch, rows: IndexArray, codes: npt.NDArray[np.int8]) -> BoolArray:
        res = self.children[0].rows(batch, rows, codes)
        for child in self.children[1:]:
            live = np.flatnonzero(res)  # only rows not yet false need the next operand
            if live.size == 0:
                break
            if live.size == res.shape[0]:
                res = child.rows(batch, rows, codes)
            else:
                res[live] = child.rows(batch, rows[live], codes[live])
        return res


class _OrNode:
    __slots__ = ("children",)

    def __init__(self, children: list[_Node]) -> None:
        self.children = children

    def fold(self, codes: list[int]) -> int:
        out = _FALSE
        for c in self.children:
            v = c.fold(codes)
            if v == _TRUE:
                return _TRUE
            if v == _ROWS:
                out = _ROWS
        return out

    def rows(self, batch: PointBatch, rows: IndexArray, codes: npt.NDArray[np.int8]) -> BoolArray:
        res = self.children[0].rows(batch, rows, codes)
        for child in self.children[1:]:
            live = np.flatnonzero(~res)  # only rows not yet true need the next operand
            if live.size == 0:
                break
            if live.size == res.shape[0]:
                res = child.rows(batch, rows, codes)
            else:
                res[live] = child.rows(batch, rows[live], codes[live])
        return res


class _NotNode:
    __slots__ = ("child",)

    def __init__(self, child: _Node) -> None:
        self.child = child

    def fold(self, codes: list[int]) -> int:
        v = self.child.fold(codes)
        return v if v == _ROWS else 1 - v

    def rows(self, batch: PointBatch, rows: IndexArray, codes: npt.NDArray[np.int8]) -> BoolArray:
        return ~self.child.rows(batch, rows, codes)


_Node = _LeafNode | _AndNode | _OrNode | _NotNode


class TagsetIndex:
    """Interns tag sets as small ints, shared by every Predicate that uses it.

    `ids(series)` maps a batch's series to tag-set ids with one dict lookup per series, and
    remembers the answer for that very `series` list, so N predicates evaluated on one batch pay
    for the lookups once, then work on numpy arrays indexed by id. Past `limit` ids everything
    is forgotten (a new `generation`), which tells predicates to drop their per-id tables.
    Not thread-safe; the matcher evaluates on one thread (its event loop).
    """

    def __init__(self, limit: int = DEFAULT_CACHE_LIMIT) -> None:
        self.limit = limit
        self.generation = 0
        self.tags: list[Tags] = []
        self._ids: dict[Tags, int] = {}
        # The last series list seen (held, so its identity cannot be reused) and its ids.
        self._memo: tuple[list[SeriesKey], int, IndexArray] | None = None

    def __len__(self) -> int:
        return len(self.tags)

    def ids(self, series: list[SeriesKey]) -> IndexArray:
        memo = self._memo
        if (
            memo is not None
            and memo[0] is series
            and memo[1] == self.generation
            and memo[2].shape[0] == len(series)
        ):
            return memo[2]
        tagsets = [s.tags for s in series]
        found = list(map(self._ids.get, tagsets))
        if None in found:
            if len(self._ids) + found.count(None) > self.limit:
                self.generation += 1
                self.tags = []
                self._ids = {}
                found = [None] * len(tagsets)
            ids_of, tags = self._ids, self.tags
            for i, t in enumerate(tagsets):
                if found[i] is None:
                    tid = ids_of.get(t)  # the same tag set may repeat within the batch
                    if tid is None:
                        tid = ids_of[t] = len(tags)
                        tags.append(t)
                    found[i] = tid
        ids: IndexArray = np.array(found, dtype=np.intp)
        self._memo = (series, self.generation, ids)
        return ids


DEFAULT_INDEX = TagsetIndex()


class Predicate:
    """A compiled where clause, with its per-tag-set results; keep one per plugin and reuse it."""

    def __init__(self, expr: WhereExpr | None, index: TagsetIndex | None = None) -> None:
        self.expr = expr
        self.index = DEFAULT_INDEX if index is None else index
        self._leaves: list[_Leaf] = []
        self._tree = None if expr is None else self._build(expr)
        # Per tag-set id: the whole clause's code (-1: not computed yet) and each leaf's code.
        self._generation = self.index.generation
        self._overall = np.full(0, -1, dtype=np.int8)
        self._codes = np.zeros((0, len(self._leaves)), dtype=np.int8)

    def _build(self, e: WhereExpr) -> _Node:
        if isinstance(e, Compare):
            leaf = _Leaf(e)
            self._leaves.append(leaf)
            return _LeafNode(len(self._leaves) - 1, leaf)
        if isinstance(e, And):
            return _AndNode([self._build(o) for o in e.operands])
        if isinstance(e, Or):
            return _OrNode([self._build(o) for o in e.operands])
        return _NotNode(self._build(e.operand))

    @property
    def always_true(self) -> bool:
        return self._tree is None

    @property
    def cache_size(self) -> int:
        """How many tag sets have their outcome cached."""
        return int(np.count_nonzero(self._overall >= 0))

    def __str__(self) -> str:
        return "" if self.expr is None else str(self.expr)

    def __repr__(self) -> str:
        return f"Predicate({str(self)!r})"

    def evaluate(
        self,
        batch: PointBatch,
        candidate_rows: npt.NDArray[np.integer[Any]] | None = None,
        *,
        candidate_series: npt.NDArray[np.integer[Any]] | None = None,
    ) -> BoolArray:
        """Whether each candidate row matches: a mask aligned with `candidate_rows`.

        `candidate_rows` None means every row of the batch (the mask then has len(batch)
        entries). `candidate_series`, when the caller knows it, lists indices into
        `batch.series` covering every candidate row's series; only those get per-series work.
        """
        n = len(batch) if candidate_rows is None else int(candidate_rows.shape[0])
        if self._tree is None:
            return np.ones(n, dtype=np.bool_)
        if n == 0:
            return np.zeros(0, dtype=np.bool_)
        if candidate_rows is None:
            rows: IndexArray = np.arange(n, dtype=np.intp)
            sidx = batch.series_idx
        else:
            rows = np.asarray(candidate_rows, dtype=np.intp)
            sidx = batch.series_idx[rows]

        ids = self.index.ids(batch.series)
        self._ensure(ids, ids if candidate_series is None else ids[candidate_series])
        per_row = self._overall[ids][sidx]
        result: BoolArray = per_row == _TRUE
        unknown = np.flatnonzero(per_row == _ROWS)
        if unknown.size:
            codes = self._codes[ids[sidx[unknown]]]
            result[unknown] = self._tree.rows(batch, rows[unknown], codes)
        return result

    def _ensure(self, ids: IndexArray, wanted: IndexArray) -> None:
        """Size the tables for all `ids`; compute the outcome of the `wanted` ones not known."""
        if self._generation != self.index.generation:
            self._generation = self.index.generation
            self._overall = np.full(0, -1, dtype=np.int8)
            self._codes = np.zeros((0, len(self._leaves)), dtype=np.int8)
        if ids.size == 0:
            return
        top = int(ids.max()) + 1
        if top > self._overall.shape[0]:
            size = max(top, 2 * self._overall.shape[0], 64)
            overall = np.full(size, -1, dtype=np.int8)
            overall[: self._overall.shape[0]] = self._overall
            codes = np.zeros((size, len(self._leaves)), dtype=np.int8)
            codes[: self._codes.shape[0]] = self._codes
            self._overall, self._codes = overall, codes
        missing = wanted[self._overall[wanted] < 0]
        if missing.size == 0:
            return
        tags = self.index.tags
        for tid in np.unique(missing).tolist():
            self._overall[tid], self._codes[tid] = self._compute(tags[tid])

    def _compute(self, tags: Tags) -> tuple[int, tuple[int, ...]]:
        assert self._tree is not None
        lookup = dict(tags)
        codes = [leaf.series_code(lookup) for leaf in self._leaves]
        return self._tree.fold(codes), tuple(codes)


def compile_where(expr: WhereExpr | None, index: TagsetIndex | None = None) -> Predicate:
    """A Predicate for `expr` (None: matches every point), caching by tag set in `index`."""
    return Predicate(expr, index)
