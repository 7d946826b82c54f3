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
from re import error

import numpy as np

from kapacitor.engine.columns import ObjectArray, Scalar, Text, and_valid
from kapacitor.sizes import format_bytes

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


_UNARY: dict[str, Callable[[str], str]] = {
    "lower": str.lower,
    "upper": str.upper,
    "trim": str.strip,
}

# Go's Regexp.Expand syntax, as Kapacitor's regexReplace: $1, ${1}, $name, ${name}, $$.
_GROUP_REF = re.compile(r"\$(?:(\$)|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))")


class _Group(str):
    """A group reference in a replacement template (a group number or name)."""


@functools.lru_cache(maxsize=256)
def _template(replacement: str) -> Callable[[re.Match[str]], str]:
    """A re.sub replacement function for a Go-style template: a reference to a group that
    does not exist or did not match gives "", a `$` not starting a reference stays."""
    parts: list[str] = []
    pos = 0
    for m in _GROUP_REF.finditer(replacement):
        parts += [replacement[pos : m.start()], "$" if m[1] else _Group(m[2] or m[3])]
        pos = m.end()
    parts.append(replacement[pos:])

    def group(match: re.Match[str], ref: str) -> str:
        try:
            return match.group(int(ref) if ref.isdigit() else ref) or ""
        except (IndexError, error):
            return ""

    def expand(match: re.Match[str]) -> str:
        return "".join(group(match, p) if isinstance(p, _Group) else p for p in parts)

    return expand


def substring(s: Text, bounds: list[Scalar]) -> Text:
    """`substring(s, start[, stop])` in code points, clamped at the end; no value for a
    negative or non-integral index or stop < start."""
    valid = functools.reduce(and_valid, (b.valid for b in bounds), s.valid)
    m = s.values.shape[0]
    start = bounds[0].values
    stop = bounds[1].values if len(bounds) > 1 else np.full(m, np.inf)
    ok = (start >= 0) & (stop >= start) & (np.trunc(start) == start)
    ok &= np.isinf(stop) | (np.trunc(stop) == stop)
    # Past-the-end indexes clamp: any length beyond 2**62 is past the end of every string.
    lo = np.where(ok, np.minimum(start, 2.0**62), 0).astype(np.int64).tolist()
    hi = np.where(ok, np.minimum(stop, 2.0**62), 0).astype(np.int64).tolist()
    out = [t[a:b] for t, a, b in zip(s.values.tolist(), lo, hi, strict=True)]
    return Text(objects(out), ok if valid is None else valid & ok)


def human_bytes(n: Scalar) -> Text:
    """Numbers of bytes as go-humanize's Bytes writes them (base 1000)."""
    return Text(objects([format_bytes(v) for v in n.values.tolist()]), n.valid)


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
    if name in _UNARY:
        return Text(objects([_UNARY[name](s) for s in cols[0]]), valid)
    if name == "trim_prefix":
        return Text(objects([a.removeprefix(b) for a, b in zip(*cols, strict=True)]), valid)
    if name == "trim_suffix":
        return Text(objects([a.removesuffix(b) for a, b in zip(*cols, strict=True)]), valid)
    if name == "index_of":
        found = [float(a.find(b)) for a, b in zip(cols[0], cols[1], strict=True)]
        return Scalar(np.array(found, dtype=np.float64).reshape(-1), valid)
    if name == "regex_replace":
        sub = _pattern(params[0]).sub
        pairs = zip(cols[0], cols[1], strict=True)
        return Text(objects([sub(_template(repl), s) for s, repl in pairs]), valid)
    assert name == "length", func
    return Scalar(np.array([len(s) for s in cols[0]], dtype=np.float64).reshape(-1), valid)
