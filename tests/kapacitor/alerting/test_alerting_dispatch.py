"""Delivering through a sender: retries with backoff, refusals, a sender's own bug."""

from __future__ import annotations

import orjson

from kapacitor.alerting.dispatch import backoff_s, deliver, retry_budget_s
from kapacitor.alerting.kinds.base import Event, Undelivered
from kapacitor.alerting.topic_handlers import HandlerStats
from kapacitor.config import HANDLER_BACKOFF_CAP_S

EVENT = Event("e1", orjson.dumps({"level": "CRITICAL"}), {"level": "CRITICAL"})


class Script:
    """A sender failing as told, one outcome per attempt (None: delivered)."""

    def __init__(self, *outcomes: Exception | None) -> None:
        self.outcomes = list(outcomes)
        self.attempts = 0

    async def send(self, event: Event) -> None:
        self.attempts += 1
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome

    async def close(self) -> None:
        return None


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, s: float) -> None:
        self.waits.append(s)


def _stats() -> HandlerStats:
    return HandlerStats(topic="t", id="h")


async def test_a_passing_failure_is_retried_with_doubling_waits() -> None:
    sender = Script(Undelivered("x", retry=True), Undelivered("y", retry=True), None)
    stats, sleep = _stats(), Sleeps()
    assert await deliver(sender, EVENT, stats, retries=3, backoff=0.5, sleep=sleep)
    assert (sender.attempts, sleep.waits) == (3, [0.5, 1.0])
    assert (stats.sent, stats.retried, stats.failed, stats.last_error) == (1, 2, 0, "y")


async def test_retries_run_out() -> None:
    sender = Script(*[Undelivered("down", retry=True)] * 5)
    stats, sleep = _stats(), Sleeps()
    assert not await deliver(sender, EVENT, stats, retries=2, backoff=1, sleep=sleep)
    assert (sender.attempts, stats.sent, stats.retried, stats.failed) == (3, 0, 2, 1)


async def test_a_refusal_is_not_retried() -> None:
    sender = Script(Undelivered("answered 400", retry=False))
    stats, sleep = _stats(), Sleeps()
    assert not await deliver(sender, EVENT, stats, retries=3, backoff=1, sleep=sleep)
    assert (sender.attempts, stats.failed, sleep.waits) == (1, 1, [])


async def test_a_senders_bug_is_a_failure_not_a_crash() -> None:
    stats = _stats()
    assert not await deliver(Script(KeyError("oops")), EVENT, stats, retries=3, backoff=1)
    assert stats.failed == 1 and "KeyError" in stats.last_error


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff_s(a, 1.0) for a in range(4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff_s(30, 1.0) == HANDLER_BACKOFF_CAP_S
    assert retry_budget_s(2, 10.0, 1.0) == 3 * 10.0 + 1.0 + 2.0
