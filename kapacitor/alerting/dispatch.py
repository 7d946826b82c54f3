"""Delivering one event through a topic handler's sender: attempts, backoff and counting.

A failure that may pass (a timeout, a 5xx, a program's non-zero exit) is retried `retries`
times, waiting `backoff`, then twice that, and so on up to HANDLER_BACKOFF_CAP_S; a refusal (a
4xx) is not. Nothing a sender raises stops the handler: an unexpected error counts as a
failure and is logged with the handler's name.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from kapacitor.alerting.event_match import EventMatch
from kapacitor.alerting.kinds.base import Event, Sender, Undelivered
from kapacitor.alerting.topic_handlers import HandlerStats
from kapacitor.config import HANDLER_BACKOFF_CAP_S

log = logging.getLogger("kapacitor.handlers")

Sleep = Callable[[float], Awaitable[None]]


def backoff_s(attempt: int, base_s: float) -> float:
    """The wait before attempt `attempt + 1` (attempt 0 is the first)."""
    return float(min(base_s * 2**attempt, HANDLER_BACKOFF_CAP_S))


def retry_budget_s(retries: int, timeout_s: float, base_s: float) -> float:
    """The longest one event can take: every attempt timing out, every backoff waited."""
    waits = sum(backoff_s(a, base_s) for a in range(retries))
    return (retries + 1) * timeout_s + waits


def wanted(events: Sequence[Event], match: EventMatch, stats: HandlerStats) -> list[Event]:
    """The events a handler sends: those its match selects, nothing suppressed (silenced,
    inhibited, no_recoveries); the others counted in `stats` as skipped or suppressed."""
    out = []
    for event, chosen in zip(events, match.matches([e.doc for e in events]), strict=True):
        if not chosen:
            stats.skipped += 1
        elif event.doc.get("suppressed"):
            stats.suppressed += 1
        else:
            out.append(event)
    return out


async def deliver(
    sender: Sender,
    event: Event,
    stats: HandlerStats,
    *,
    retries: int,
    backoff: float,
    sleep: Sleep = asyncio.sleep,
) -> bool:
    """Send `event`, retrying as the module says; whether the receiver got it. `stats` counts
    what happened."""
    name = f"{stats.topic}/{stats.id}"
    for attempt in range(retries + 1):
        try:
            await sender.send(event)
        except Undelivered as e:
            stats.last_error = str(e)
            if e.retry and attempt < retries:
                stats.retried += 1
                await sleep(backoff_s(attempt, backoff))
                continue
            stats.failed += 1
            log.warning("handler %s: event %s not delivered: %s", name, event.id, e)
            return False
        except Exception as e:  # a sender's bug must not stop the handler: counted, logged
            stats.failed += 1
            stats.last_error = f"{type(e).__name__}: {e}"
            log.exception("handler %s: event %s failed", name, event.id)
            return False
        stats.sent += 1
        return True
    return False
