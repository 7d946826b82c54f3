"""Handing freed heap back to the OS after a burst of setup work.

Compiling a plugin or adopting partitions allocates a few MB of short-lived objects; glibc
keeps the freed pages when live objects sit above them in the heap, so an idle interpreter
held 21.9 MB (PSS) in most starts and 23.4-25.3 in one of four, for the same plugins.
`malloc_trim(0)` returns every free page, wherever it is in the heap. Called once a burst
has settled (`TrimSoon`), never on the hot path. A no-op without glibc.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
from collections.abc import Callable

TRIM_DELAY_S = 1.0


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None
    return trim


_TRIM = _malloc_trim()


def release_freed() -> None:
    """Return the heap's free pages to the OS."""
    if _TRIM is not None:
        _TRIM(0)


class TrimSoon:
    """`release_freed()` once, `TRIM_DELAY_S` after the last call to `__call__`."""

    def __init__(self, delay_s: float = TRIM_DELAY_S) -> None:
        self.delay_s = delay_s
        self._handle: asyncio.TimerHandle | None = None

    def __call__(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = asyncio.get_running_loop().call_later(self.delay_s, self._run)

    def _run(self) -> None:
        self._handle = None
        release_freed()
