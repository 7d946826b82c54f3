"""CLI failures are one line on stderr with a non-zero exit code, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kapacitor.testing.ports import free_port


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAPACITOR_")}
    env["KAPACITOR_URL"] = f"http://127.0.0.1:{free_port()}"
    return subprocess.run(
        [sys.executable, "-m", "kapacitor.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("list",), 1, "cannot reach kapacitord at http://127.0.0.1:"),
        (("show", "x", "--json"), 1, "cannot reach kapacitord"),
        (("define", "--from", "cpu", "--script", "x.kap"), 2, "define needs a name"),
        (("define", "--name", "a", "--script", "x.kap"), 2, "define needs --from"),
        (
            ("define", "--name", "a", "--from", "cpu", "--script", "/nonexistent.kap"),
            2,
            "cannot read script /nonexistent.kap",
        ),
        (("frobnicate",), 2, "No such command 'frobnicate'"),
        (("list", "--bogus"), 2, "No such option: --bogus"),
    ],
)
def test_failures_are_one_line(args: tuple[str, ...], code: int, message: str) -> None:
    p = run(*args)
    assert p.returncode == code, p.stderr
    assert message in p.stderr
    assert "Traceback" not in p.stderr
    assert p.stderr.strip().count("\n") == 0, p.stderr
