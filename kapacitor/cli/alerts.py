"""`kapacitor alerts`: the most recent alert events."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from kapacitor.cli.app import V1, JsonOpt, client_of
from kapacitor.cli.output import print_json

__all__ = ["alerts"]


def alerts(
    ctx: typer.Context,
    plugin: Annotated[str, typer.Option("--plugin", help="only this plugin's alerts")] = "",
    limit: Annotated[int, typer.Option("--limit", help="how many, newest last")] = 20,
    json_out: JsonOpt = False,
) -> None:
    """Show the most recent alert events."""
    doc = client_of(ctx).call("GET", V1 + "/alerts", params={"plugin": plugin, "limit": limit})
    if json_out:
        print_json(doc)
        return
    for a in doc["alerts"]:
        sys.stdout.write(f"{a['time']}  {a['level']:<8} {a['id']}  {a['message']}\n")
