"""`kapacitor check` works offline: diagnostics with position and caret, exit 1 on errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAPACITOR_")}
    env["KAPACITOR_URL"] = "http://127.0.0.1:9"  # nothing listens: check must not need it
    return subprocess.run(
        [sys.executable, "-m", "kapacitor.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_good_script(tmp_path: Path) -> None:
    f = tmp_path / "ok.kap"
    f.write_text("alert(avg(window(value, 10)), <, 30)\n")
    p = run("check", str(f))
    assert (p.returncode, p.stdout) == (0, f"{f}: ok\n")


def test_bad_script_and_where(tmp_path: Path) -> None:
    f = tmp_path / "bad.kap"
    f.write_text("# idle\nalert(agv(window(value, 10)), <, 30)\n")
    p = run("check", str(f), "--where", "host = ")
    assert p.returncode == 1
    assert p.stderr == (
        f"{f}:2:7: unknown function 'agv': did you mean avg?\n"
        "  alert(agv(window(value, 10)), <, 30)\n"
        "        ^^^\n"
        "where:1:8: expected a value after '='\n"
        "  host = \n"
        "         ^\n"
    )
    doc = json.loads(run("check", str(f), "--json").stdout)
    assert doc["ok"] is False
    assert [(d["line"], d["col"]) for d in doc["diagnostics"]] == [(2, 7)]


def test_explain_prints_every_stage(tmp_path: Path) -> None:
    f = tmp_path / "ok.kap"
    f.write_text("alert(avg(window(value, 10s)), <, 30)\n")
    out = run("check", str(f), "--explain").stdout
    for head in ("# tokens", "# syntax tree", "# types", "# plan"):
        assert head in out
    assert "%1 = window.time %0 span=10s" in out
