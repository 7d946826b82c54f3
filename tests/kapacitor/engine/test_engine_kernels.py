"""The core operators' column kernels (kapacitor/engine/kernels.py), column by column."""

from __future__ import annotations

import numpy as np
import pytest

from kapacitor.engine.columns import Scalar, Vector
from kapacitor.engine.kernels import (
    apply_aggregate,
    apply_binary,
    apply_math,
    apply_unary,
    scalar,
    vector,
)
from kapacitor.engine.ops import AggOp


def col(*values: float, valid: list[bool] | None = None) -> Scalar:
    return Scalar(np.array(values, np.float64), None if valid is None else np.array(valid))


def rows(s: Scalar) -> list[float | None]:
    return [float(v) if s.valid is None or s.valid[i] else None for i, v in enumerate(s.values)]


def test_undefined_results_have_no_value() -> None:
    x, y = col(6, 6, 6, -7), col(3, 0, 4, 0)
    assert rows(apply_binary("/", x, y)) == [2.0, None, 1.5, None]
    assert rows(apply_binary("%", x, y)) == [0.0, None, 2.0, None]
    assert rows(apply_math("sqrt", col(4, -1, 0))) == [2.0, None, 0.0]


def test_missing_inputs_stay_missing() -> None:
    x, y = col(1, 2, 3, valid=[True, False, True]), col(1, 1, 1, valid=[True, True, False])
    assert rows(apply_binary("+", x, y)) == [2.0, None, None]
    assert rows(apply_unary("-", x)) == [-1.0, None, -3.0]
    assert rows(apply_binary("/", x, col(0, 1, 1))) == [None, None, 3.0]


def test_truth_values_are_one_and_zero() -> None:
    x, y = col(1, 0, 2), col(1, 1, 0)
    assert rows(apply_binary("and", x, y)) == [1.0, 0.0, 0.0]
    assert rows(apply_binary("or", x, y)) == [1.0, 1.0, 1.0]
    assert rows(apply_binary("<=", x, y)) == [1.0, 1.0, 0.0]
    assert rows(apply_unary("not", x)) == [0.0, 1.0, 0.0]


def test_round_goes_half_away_from_zero_like_go() -> None:
    assert rows(apply_math("round", col(0.5, 1.5, 2.5, -0.5, -2.5))) == [1, 2, 3, -1, -3]


def test_aggregate_over_windows_including_empty_ones() -> None:
    ext = np.array([1.0, 2.0, 3.0, 0.0])
    vec = Vector(ext, np.array([0, 0, 1, 3]), np.array([1, 2, 3, 3]), np.array([1, 1, 0, 1], bool))
    assert rows(apply_aggregate(AggOp("sum", 0), vec, 4)) == [1.0, 3.0, None, 0.0]
    assert rows(apply_aggregate(AggOp("avg", 0), vec, 4)) == [1.0, 1.5, None, None]


def test_kinds_are_asserted() -> None:
    with pytest.raises(AssertionError):
        vector(col(1))
    with pytest.raises(AssertionError):
        scalar(None)
