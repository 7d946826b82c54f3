"""Bulk column conversion accepts exactly the tokens the exact validators accept."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kapacitor.lineprotocol.columns import Col, bulk_values
from kapacitor.lineprotocol.validate import CHECKS, LineError

# Raw tokens never hold a space (it separates them), so it is not in the alphabet.
_number_alphabet = st.sampled_from(list(b"0123456789.eE+-iu_x\t"))


# cheapest: tiny numbers, and the edge cases are rare
@settings(max_examples=settings.default.max_examples * 10)
@given(
    st.lists(st.lists(_number_alphabet, min_size=1, max_size=8).map(bytes), min_size=1, max_size=4),
    st.sampled_from([0, 1, 2]),
)
def test_bulk_validation_agrees_with_exact_checks(raws: list[bytes], ftype: int) -> None:
    # Both parsing paths only file a token as integer/unsigned if it ends with i/u.
    raws = [raw + (b"", b"i", b"u")[ftype] for raw in raws]
    col = Col(ftype)
    col.vals = raws
    col.rows = list(range(len(raws)))
    bulk = bulk_values(col)
    exact: list[float | int | None] = []
    for raw in raws:
        try:
            exact.append(CHECKS[ftype](raw, "k"))
        except LineError:
            exact.append(None)
    if None in exact:
        assert bulk is None
    else:
        assert bulk is not None and bulk.tolist() == exact
