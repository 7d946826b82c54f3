"""`kapacitor ping`: is kapacitord there, and which version."""

from __future__ import annotations

import sys

import typer

from kapacitor.cli.app import V1, JsonOpt, client_of
from kapacitor.cli.output import fail, print_json

__all__ = ["ping"]


def ping(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Check that kapacitord answers."""
    client = client_of(ctx)
    r = client.request("GET", V1 + "/ping")
    version = r.headers.get("X-Kapacitor-Version", "")
    if r.status_code != 204:
        fail(f"unexpected answer {r.status_code} from {client.where}")
    if json_out:
        print_json({"ok": True, "version": version})
    else:
        sys.stdout.write(f"kapacitord {version} at {client.where}: ok\n")
