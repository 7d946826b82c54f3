"""`kapacitor cluster`: every service instance of the deployment, as the API sees it."""

from __future__ import annotations

import sys

import typer

from kapacitor.cli.app import V1, JsonOpt, client_of
from kapacitor.cli.output import print_json, table

__all__ = ["cluster"]


def cluster(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """List every service instance: host, partitions owned, lag, last heartbeat."""
    doc = client_of(ctx).call("GET", V1 + "/cluster")
    if json_out:
        print_json(doc)
        return
    rows: list[tuple[str, ...]] = [
        ("SERVICE", "HOST", "INSTANCE", "PARTITIONS", "LAG", "HEARTBEAT", "STATE")
    ]
    for m in doc["members"]:
        service = m["service"] + (" (notifier)" if m.get("notifier") else "")
        owned = str(len(m["partitions"])) if m["service"] == "interpreter" else "-"
        lag = "-" if m["lag"] is None else str(m["lag"])
        beat = "-" if m["last_heartbeat_s"] is None else f"{m['last_heartbeat_s']:.1f}s ago"
        rows.append((service, m["host"], m["id"], owned, lag, beat, m["state"]))
    table(rows)
    if doc["unowned_partitions"]:
        missing = ", ".join(map(str, doc["unowned_partitions"]))
        sys.stdout.write(f"partitions no interpreter owns: {missing}\n")
