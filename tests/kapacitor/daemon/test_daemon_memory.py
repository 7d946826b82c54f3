"""Freed heap handed back: malloc_trim found on glibc, and called once a burst has settled."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from kapacitor.daemon import memory


def test_release_freed_runs_on_this_libc() -> None:
    assert memory._TRIM is not None  # these machines run glibc
    memory.release_freed()


async def test_trim_soon_runs_once_after_the_last_call(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(memory, "release_freed", lambda: calls.append(1))
    trim = memory.TrimSoon(delay_s=0.05)
    for _ in range(3):
        trim()
        await asyncio.sleep(0.01)
    assert calls == []
    await asyncio.sleep(0.1)
    assert calls == [1]


def test_the_forked_image_holds_no_handler_kind_and_nothing_unused() -> None:
    """kapacitord forks every service from one image of all their imports; the handler kinds
    (paho-mqtt, smtplib, ...) are imported only where a handler is defined or run, and what no
    service uses (uvicorn's websockets and its file-watching reloader, httpx's command line
    with rich and pygments) not at all."""
    code = (
        "import sys\n"
        "from kapacitor.config import ALL_SERVICES\n"
        "from kapacitor.daemon.supervisor import preload\n"
        "preload(list(ALL_SERVICES))\n"
        "print(sorted(m for m in sys.modules if sys.modules[m] is not None and m.startswith(("
        "'kapacitor.alerting.kinds.registry', 'paho', 'aiomqtt', 'smtplib', 'websockets', "
        "'watchfiles', 'rich', 'pygments'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
