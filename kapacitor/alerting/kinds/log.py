"""kind: log — append each event as one JSON line to a file (Kapacitor's log handler)."""

from __future__ import annotations

import asyncio
import os

from kapacitor.alerting.kinds.base import Event, Options, Undelivered
from kapacitor.config import Config


class LogOptions(Options, frozen=True, kw_only=True, forbid_unknown_fields=True):
    path: str
    mode: int = 0o600  # of a file the handler creates

    def check(self) -> None:
        super().check()
        if not os.path.isabs(self.path):
            raise ValueError(f"path must be absolute, got {self.path!r}")
        if not 0 <= self.mode <= 0o777:
            raise ValueError(f"mode must be 0 to 0o777 (511), got {self.mode}")


class LogSender:
    def __init__(self, options: LogOptions, cfg: Config | None = None) -> None:
        self.options = options

    def _append(self, line: bytes) -> None:
        fd = os.open(self.options.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, self.options.mode)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    async def send(self, event: Event) -> None:
        try:
            # One write of the whole line with O_APPEND: lines never interleave, and a file
            # rotated away by logrotate is re-created on the next event.
            await asyncio.to_thread(self._append, event.data + b"\n")
        except OSError as e:
            raise Undelivered(f"cannot append to {self.options.path}: {e}", retry=True) from e

    async def close(self) -> None:
        return None
