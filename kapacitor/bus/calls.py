"""One translation of NATS failures into the project's errors, for the stores that call
JetStream directly (ttl_kv, state_store)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from nats.errors import Error as NatsError
from nats.js.errors import APIError, KeyWrongLastSequenceError

from kapacitor.errors import BusError, RevisionMismatch

__all__ = ["on_bus"]

_T = TypeVar("_T")
# JetStream's "wrong last sequence" (with the sequence, and without it).
_WRONG_LAST_SEQUENCE = (10071, 10164)


async def on_bus(
    call: Awaitable[_T], what: str, *, missing: tuple[type[Exception], ...] = ()
) -> _T:
    """`call`, with NATS failing (timeouts, a closed connection, an API error) as a BusError
    naming `what`, and a lost compare-and-set as RevisionMismatch. The `missing` errors (the
    not-found errors a caller handles) pass through as they are."""
    try:
        return await call
    except missing:
        raise
    except KeyWrongLastSequenceError as e:
        raise RevisionMismatch(f"{what}: the key moved on") from e
    except APIError as e:
        if e.err_code in _WRONG_LAST_SEQUENCE:
            raise RevisionMismatch(f"{what}: the key moved on") from e
        raise BusError(f"{what}: {e}") from e
    except (TimeoutError, NatsError) as e:
        raise BusError(f"{what}: {type(e).__name__} {e}") from e
