from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.interpreter.topic_keeper import MAX_ROUND_S, ROUND_S, WRITES_PER_S, round_wait_s


def test_a_quiet_topic_is_kept_every_second_a_storm_every_five() -> None:
    assert round_wait_s(0) == round_wait_s(WRITES_PER_S) == ROUND_S == 1.0
    assert round_wait_s(2 * WRITES_PER_S) == 2.0
    assert round_wait_s(1_000) == round_wait_s(10**6) == MAX_ROUND_S == 5.0


@given(st.integers(0, 10**7), st.integers(0, 10**7))
def test_more_written_never_waits_less_and_keeps_to_the_budget(a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert round_wait_s(low) <= round_wait_s(high)
    wait = round_wait_s(high)
    assert ROUND_S <= wait <= MAX_ROUND_S
    assert high <= WRITES_PER_S * wait * (1 + 1e-12) or wait == MAX_ROUND_S
