"""`kapacitor cluster`: every service instance of the deployment, as the API sees it;
`kapacitor inputs`: the UDP listeners and InfluxDB subscriptions."""

from __future__ import annotations

import sys

import typer

from kapacitor.cli.app import V1, JsonOpt, client_of
from kapacitor.cli.output import fmt_ns, print_json, table

__all__ = ["cluster", "inputs"]


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


def inputs(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """List the UDP listeners (received, dropped, ...) and the InfluxDB subscriptions."""
    doc = client_of(ctx).call("GET", V1 + "/inputs")
    if json_out:
        print_json(doc)
        return
    rows: list[tuple[str, ...]] = [
        ("UDP LISTENER", "HOST", "DB.RP", "FOR", "RECEIVED", "DROPPED", "POINTS", "BAD", "LOST")
    ]
    for u in doc["udp"]:
        rows.append(
            (
                u["listener"],
                u["host"],
                f"{u['db']}.{u['rp']}",
                f"influxdb {u['cluster']}" if u["cluster"] else "[[udp]]",
                *(str(u[k]) for k in ("received", "dropped", "points", "bad_lines", "lost")),
            )
        )
    if len(rows) > 1:
        table(rows)
    else:
        sys.stdout.write("no UDP listener\n")
    for s in doc["subscriptions"]:
        sys.stdout.write(
            f"\ninfluxdb {s['cluster']}: subscription {s['name']} over {s['protocol']}, kept by"
            f" {s['host']}; {s['syncs']} syncs, {s['failures']} failed, last at"
            f" {fmt_ns(s['last_sync_ns'])}\n"
        )
        sys.stdout.write(f"  subscribed: {', '.join(s['subscribed']) or '-'}\n")
        if s["last_error"]:
            sys.stdout.write(f"  last error: {s['last_error']}\n")
        for d in s["doubles"]:
            sys.stdout.write(f"  also sending here (points arrive twice): {d}\n")
