"""A replay report split into parts and put back together, whatever order the parts come in."""

from __future__ import annotations

import pytest

from kapacitor.replay.report_parts import ReportParts, split_report


def test_report_parts_arrive_in_any_order() -> None:
    data = bytes(range(256)) * 5
    parts = split_report(data, 300)
    assert len(parts) == 5 and split_report(b"") == [b""]
    got = ReportParts()
    for i in (4, 0, 2):
        got.add(i, parts[i])
    got.expect(5)
    assert not got.complete
    with pytest.raises(ValueError, match=r"arrived incomplete \(3/5\)"):
        got.join()
    for i in (1, 3):
        got.add(i, parts[i])
    assert got.complete and got.join() == data
