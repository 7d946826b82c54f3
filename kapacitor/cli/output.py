"""How commands write: JSON for --json, aligned tables, one-line failures, progress on a tty."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import orjson
import typer

__all__ = ["diagnostics", "fail", "fmt_ns", "print_json", "progress_console", "table"]


def print_json(doc: Any) -> None:
    sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")


def fail(msg: str, code: int = 1) -> NoReturn:
    sys.stderr.write(f"kapacitor: {msg}\n")
    raise typer.Exit(code)


def diagnostics(doc: Any) -> str:
    """The rendered diagnostics of an API error document ("" when it has none)."""
    diags = doc.get("diagnostics") if isinstance(doc, dict) else None
    if not diags:
        return ""
    return "\n".join(d.get("rendered") or d.get("message", "") for d in diags)


def table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        sys.stdout.write(
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n"
        )


def fmt_ns(ns: int) -> str:
    from kapacitor.alerting.document import rfc3339

    return rfc3339(ns) if ns else "-"


def progress_console() -> Any:
    """A rich console on stderr when it is a terminal (for spinners and bars), else None."""
    from rich.console import Console

    console = Console(stderr=True)
    return console if console.is_terminal else None
