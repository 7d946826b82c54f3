"""Tying a child process's life to kapacitord's (Linux prctl; a no-op elsewhere).

kapacitord killed with SIGKILL can clean nothing up, so each child asks the kernel to send it
SIGTERM when its parent dies: no nats-server or service outlives the daemon that started it
(an orphaned nats-server would keep its port and its store)."""

from __future__ import annotations

import ctypes
import signal

_PR_SET_PDEATHSIG = 1
_PR_SET_NAME = 15


def _prctl(option: int, arg: int | bytes) -> None:
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(option, arg, 0, 0, 0)
    except OSError:
        pass


def end_with_parent() -> None:
    """SIGTERM this process when its parent dies (call it in the child, before it runs)."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def set_process_name(name: str) -> None:
    """What /proc/<pid>/comm (ps, top) shows: at most 15 bytes."""
    _prctl(_PR_SET_NAME, name.encode()[:15])
