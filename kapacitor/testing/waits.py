"""Waiting on facts: poll what a system reports until it holds, instead of sleeping and hoping."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["WAIT_S", "NotYet", "WaitTimeout", "wait_until"]

T = TypeVar("T")

# Generous: the e2e tests share small machines, and a wait that holds returns at once anyway.
WAIT_S = 30.0


class WaitTimeout(AssertionError):
    """A fact did not hold in time. An AssertionError, so pytest reports it as a failed check."""


def wait_until(
    fact: Callable[[], T], timeout: float = WAIT_S, what: str = "", *, interval: float = 0.1
) -> T:
    """Poll `fact()` until it returns something truthy, and return that.

    On timeout, fail naming `what` was awaited and the last value `fact()` returned, so a
    failure says how far the system got rather than only that it was slow.
    """
    deadline = time.monotonic() + timeout
    while True:
        last = fact()
        if last:
            return last
        if time.monotonic() >= deadline:
            name = what or getattr(fact, "__qualname__", repr(fact))
            raise WaitTimeout(f"timed out after {timeout}s waiting for {name}; last seen: {last!r}")
        time.sleep(interval)


@dataclass(frozen=True)
class NotYet:
    """A falsy answer carrying what was seen, for a fact whose timeout message should say
    more than False."""

    seen: object

    def __bool__(self) -> bool:
        return False
