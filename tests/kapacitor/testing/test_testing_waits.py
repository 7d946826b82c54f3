from __future__ import annotations

import pytest

from kapacitor.testing.waits import NotYet, WaitTimeout, wait_until


def test_wait_until_returns_the_first_truthy_answer() -> None:
    answers = iter([0, None, [], 3])
    assert wait_until(lambda: next(answers), timeout=5, what="three", interval=0) == 3


def test_a_timeout_names_what_was_awaited_and_the_last_answer() -> None:
    with pytest.raises(WaitTimeout, match=r"waiting for a count above zero; last seen: 0$"):
        wait_until(lambda: 0, 0.05, "a count above zero", interval=0.01)
    with pytest.raises(
        AssertionError, match=r"waiting for the answer; last seen: NotYet\(seen=7\)"
    ):
        wait_until(lambda: NotYet(7), 0.05, "the answer", interval=0.01)


def test_not_yet_is_falsy_and_says_what_it_saw() -> None:
    assert not NotYet({"routed": 1})
    assert "routed" in repr(NotYet({"routed": 1}))
