"""String columns (`Text`): the string operations of the language, one Python call per row.

Rows without a value hold "" so every operation can run over the whole column; the validity
mask (the AND of the inputs') says which results exist. Comparisons are by code point, like
Go's byte-wise comparison of UTF-8; regexes match anywhere in the string (`re.search`, like
Go's `MatchString`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence

import numpy as np

from kapacitor.engine.columns import ObjectArray, Scalar, Text, and_valid

_COMPARE: dict[str, Callable[[ObjectArray, ObjectArray], object]] = {
    "==": np.equal,
    "!=": np.not_equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}


def objects(items: Sequence[str]) -> ObjectArray:
    """An object array holding `items` (never a 2-d or a numpy-str array)."""
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def empty(m: int) -> ObjectArray:
    return objects([""] * m)


@functools.lru_cache(maxsize=256)
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _bools(flags: list[bool], valid: np.ndarray | None) -> Scalar:
    return Scalar(np.array(flags, dtype=np.float64).reshape(-1), valid)


def evaluate(func: str, params: tuple[str, ...], args: list[Text]) -> Scalar | Text:
    """`str.<name>` of the string columns `args` (see scalar.FuncOp)."""
    name = func.removeprefix("str.")
    valid = functools.reduce(and_valid, (a.valid for a in args), None)
    cols = [a.values.tolist() for a in args]
    if name in ("match", "nomatch"):
        search = _pattern(params[0]).search
        want = name == "match"
        return _bools([(search(s) is not None) == want for s in cols[0]], valid)
    if name == "cmp":
        flags = np.asarray(_COMPARE[params[0]](args[0].values, args[1].values), dtype=np.bool_)
        return Scalar(flags.astype(np.float64), valid)
    if name == "concat":
        return Text(objects([a + b for a, b in zip(cols[0], cols[1], strict=True)]), valid)
    if name == "contains":
        return _bools([b in a for a, b in zip(cols[0], cols[1], strict=True)], valid)
    if name == "has_prefix":
        return _bools([a.startswith(b) for a, b in zip(cols[0], cols[1], strict=True)], valid)
    if name == "has_suffix":
        return _bools([a.endswith(b) for a, b in zip(cols[0], cols[1], strict=True)], valid)
    if name == "replace":
        triples = zip(cols[0], cols[1], cols[2], strict=True)
        return Text(objects([s.replace(old, new) for s, old, new in triples]), valid)
    assert name == "length", func
    return Scalar(np.array([len(s) for s in cols[0]], dtype=np.float64).reshape(-1), valid)
