"""Constant folding (kapacitor/dsl/fold.py) computes what the engine computes on points."""

from __future__ import annotations

import math

from engine_testkit import SECOND, Row, make_batch
from hypothesis import given
from hypothesis import strategies as st

from kapacitor.dsl.compile import compile_script
from kapacitor.dsl.types import Type
from kapacitor.engine import build_program, evaluate
from kapacitor.engine.columns import Scalar
from kapacitor.errors import DslTypeError
from kapacitor.model.batch import FieldType


def let_value(source: str) -> object:
    checked = compile_script(source, require_alert=False)
    return checked.constant(checked.lets["c"].value)


_INTS = st.integers(-(2**26), 2**26)  # products stay exact in float64
_FLOATS = st.floats(-1e12, 1e12, allow_nan=False).filter(lambda v: v == 0 or abs(v) > 1e-9)


def engine_value(op: str, a: int | float, b: int | float, ftype: FieldType) -> float | None:
    """What the engine computes for `x op y` on one point with x = a, y = b."""
    program = build_program(compile_script(f"alert(x {op} y, >, 0)"))
    batch, idx, keys, tags, _ = make_batch(
        [Row(0, SECOND, {"x": a, "y": b})], {"x": ftype, "y": ftype}
    )
    col = evaluate(program, batch, idx, keys, tags).columns[program.alerts[0].value]
    assert isinstance(col, Scalar)
    if col.valid is not None and not col.valid[0]:
        return None
    return float(col.values[0])


@given(
    st.sampled_from(["+", "-", "*", "/", "%"]),
    st.one_of(st.tuples(_INTS, _INTS), st.tuples(_FLOATS, _FLOATS)),
)
def test_folding_matches_the_engine(op: str, operands: tuple[int | float, int | float]) -> None:
    a, b = operands
    ints = isinstance(a, int)
    source = f"let c = ({a!r}) {op} ({b!r})\nc"
    try:
        folded = let_value(source)
    except DslTypeError as e:
        assert "division by zero" in str(e)
        assert engine_value(op, a, b, FieldType.INT if ints else FieldType.FLOAT) is None
        return
    assert isinstance(folded, int | float)
    want = engine_value(op, a, b, FieldType.INT if ints else FieldType.FLOAT)
    assert want is not None
    assert math.isclose(float(folded), want, rel_tol=1e-12, abs_tol=0.0) or float(folded) == want
    if ints and op != "/":
        assert type(folded) is int
    assert compile_script(source, require_alert=False).result_type in (Type.INT, Type.FLOAT)
