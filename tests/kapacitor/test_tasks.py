"""cancel_and_wait: a task that lets a cancellation go by (as asyncio.wait_for does on 3.11
when its future completes at the same moment) is still stopped."""

from __future__ import annotations

import asyncio
import logging

import pytest

from kapacitor.tasks import cancel_and_wait, cancel_soon


async def _stubborn(swallow: int, seen: list[int]) -> None:
    """Ignores its first `swallow` cancellations, as a fetch loop hit by the wait_for race
    (`seen` counts them; a negative entry makes it give in)."""
    while True:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            seen.append(1)
            if len(seen) > swallow or min(seen) < 0:
                raise


async def test_a_task_that_swallows_cancellations_is_cancelled_again_until_it_ends() -> None:
    seen: list[int] = []
    task = asyncio.create_task(_stubborn(3, seen))
    await asyncio.sleep(0)
    assert await cancel_and_wait(task)
    assert task.cancelled()
    assert len(seen) == 4


async def test_a_task_that_never_ends_is_given_up_on_after_the_timeout() -> None:
    seen: list[int] = []
    task = asyncio.create_task(_stubborn(10**9, seen))
    await asyncio.sleep(0)
    assert not await cancel_and_wait(task, timeout=0.3)
    assert not task.done()
    assert len(seen) >= 2
    seen.append(-1)
    assert await cancel_and_wait(task)


async def test_none_and_finished_tasks_are_fine_and_a_failure_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def fails() -> None:
        raise ValueError("boom")

    failed = asyncio.create_task(fails(), name="failing")
    await asyncio.sleep(0)
    with caplog.at_level(logging.WARNING, "kapacitor.tasks"):
        assert await cancel_and_wait(None, failed)
    assert "failing" in caplog.text and "boom" in caplog.text


async def test_cancel_soon_stops_the_task_from_a_callback() -> None:
    seen: list[int] = []
    task = asyncio.create_task(_stubborn(2, seen))
    await asyncio.sleep(0)
    cancel_soon(task)
    await asyncio.wait_for(asyncio.shield(asyncio.ensure_future(_until_done(task))), 5)
    assert task.cancelled()


async def _until_done(task: asyncio.Task[None]) -> None:
    while not task.done():
        await asyncio.sleep(0.01)
