"""Stopping asyncio tasks for sure.

On Python 3.11, `asyncio.wait_for` swallows a cancellation that arrives as the future it waits
on completes (python/cpython#86296, fixed in 3.12). nats-py waits that way in every fetch, so a
single `cancel()` of a fetch loop can be lost: the loop runs on, pulling messages for a
partition its process no longer owns, and awaiting it never returns. Here a task is cancelled
again until it ends.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger("kapacitor.tasks")

RECANCEL_S = 0.1  # how long a cancelled task may take before it is cancelled again


async def cancel_and_wait(*tasks: asyncio.Task[Any] | None, timeout: float | None = None) -> bool:
    """Cancel `tasks` (None ones are skipped) and wait until each has ended, or `timeout`
    seconds; True if all ended. How a task ended other than by the cancel is logged, not
    raised: the caller is stopping it."""
    pending = {t for t in tasks if t is not None and not t.done()}
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    while pending:
        for t in pending:
            t.cancel()
        wait = RECANCEL_S if deadline is None else min(RECANCEL_S, deadline - loop.time())
        if wait <= 0:
            break
        _, pending = await asyncio.wait(pending, timeout=wait)
    for task in tasks:
        if task is not None and task.done() and not task.cancelled() and task.exception():
            log.warning("task %s had failed: %r", task.get_name(), task.exception())
    return not pending


def cancel_soon(task: asyncio.Task[Any] | None) -> None:
    """`cancel_and_wait(task)` from synchronous code (a callback): done in a task of its own."""
    if task is None:
        return
    stopper = asyncio.create_task(cancel_and_wait(task))
    _stoppers.add(stopper)
    stopper.add_done_callback(_stoppers.discard)


_stoppers: set[asyncio.Task[bool]] = set()  # referenced until done (the loop keeps weak refs)
