"""kind: exec — run a program with the event JSON on its stdin (Kapacitor's exec handler)."""

from __future__ import annotations

import asyncio
import contextlib

import msgspec

from kapacitor.alerting.kinds.base import Event, Options, Undelivered
from kapacitor.config import Config

MAX_STDERR = 500  # characters of the program's stderr quoted in a failure


class ExecOptions(Options, frozen=True, kw_only=True, forbid_unknown_fields=True):
    prog: str
    args: list[str] = msgspec.field(default_factory=list)

    def check(self) -> None:
        super().check()
        if not self.prog:
            raise ValueError("prog must name a program")


class ExecSender:
    def __init__(self, options: ExecOptions, cfg: Config | None = None) -> None:
        self.options = options

    async def send(self, event: Event) -> None:
        o = self.options
        try:
            proc = await asyncio.create_subprocess_exec(
                o.prog,
                *o.args,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as e:
            raise Undelivered(f"cannot run {o.prog}: {e}", retry=False) from e
        try:
            async with asyncio.timeout(o.timeout_s):
                _, err = await proc.communicate(event.data)
        except TimeoutError as e:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise Undelivered(f"{o.prog} ran longer than {o.timeout}", retry=True) from e
        if proc.returncode != 0:
            text = err.decode(errors="replace").strip()[:MAX_STDERR]
            raise Undelivered(
                f"{o.prog} exited with status {proc.returncode}" + (f": {text}" if text else ""),
                retry=True,
            )

    async def close(self) -> None:
        return None
