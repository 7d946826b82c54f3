"""Recording commands: record, start-recording, stop-recording, recordings, show-recording,
delete-recording, export, import."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer

from kapacitor.cli.app import V1, JsonOpt, client_of
from kapacitor.cli.client import ApiClient
from kapacitor.cli.output import fail, fmt_ns, print_json, progress_console, table

__all__ = [
    "delete_recording",
    "export_recording",
    "import_recording",
    "record",
    "recordings",
    "show_recording",
    "start_recording",
    "stop_recording",
]


def _wait_recording(client: ApiClient, rec_id: str) -> dict[str, Any]:
    """Poll a recording until it is no longer running; a spinner with the count on a terminal."""
    console = progress_console()
    status = None
    if console is not None:
        status = console.status(f"recording {rec_id}: 0 points")
        status.start()
    try:
        while True:
            info: dict[str, Any] = client.call("GET", f"{V1}/recordings/{rec_id}")
            if info["status"] != "running":
                return info
            if status is not None:
                status.update(f"recording {rec_id}: {info['points']:,} points")
            time.sleep(0.2)
    finally:
        if status is not None:
            status.stop()


def _print_recording_id(info: dict[str, Any]) -> None:
    if info["status"] == "failed":
        fail(f"recording {info['id']} failed: {info['error']}")
    sys.stdout.write(f"RecordingID={info['id']}\n")


def record(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option("--host", help="InfluxDB 1.x URL, e.g. http://influx:8086")
    ] = "",
    query: Annotated[str, typer.Option("--query", help="InfluxQL query selecting the points")] = "",
    db: Annotated[str, typer.Option("--db", help="database (query) or filter (live)")] = "",
    rp: Annotated[str, typer.Option("--rp", help="retention policy")] = "",
    username: Annotated[str, typer.Option("--username", envvar="INFLUX_USERNAME")] = "",
    password: Annotated[str, typer.Option("--password", envvar="INFLUX_PASSWORD")] = "",
    duration: Annotated[
        str, typer.Option("--duration", help="record the live stream this long")
    ] = "",
    from_: Annotated[str, typer.Option("--from", help="live: only this measurement")] = "",
    where: Annotated[str, typer.Option("--where", help="live: only points matching this")] = "",
    plugin: Annotated[
        str, typer.Option("--plugin", help="a scheduled plugin: run its queries over --past")
    ] = "",
    past: Annotated[
        str, typer.Option("--past", help="with --plugin: the ticks of this long ago to now")
    ] = "",
) -> None:
    """Record from InfluxDB (--host --query), a scheduled plugin's queries (--plugin --past)
    or the live stream for a while (--duration)."""
    from kapacitor.config import parse_duration
    from kapacitor.errors import ConfigError
    from kapacitor.replay.messages import RecordPlugin, RecordQuery, RecordStream

    client = client_of(ctx)
    if plugin or past:
        if not (plugin and past):
            fail("record --plugin needs --past, e.g. --plugin idle --past 1h", 2)
        try:
            seconds = parse_duration(past)
        except ConfigError as e:
            fail(f"--past: {e}", 2)
        if seconds <= 0:
            fail("--past must be more than 0", 2)
        asked_plugin = RecordPlugin(plugin=plugin, past=seconds)
        info = client.call(
            "POST", V1 + "/recordings/plugin", json=msgspec.to_builtins(asked_plugin)
        )
    elif query or host:
        if not (query and host):
            fail("record from InfluxDB needs both --host and --query", 2)
        asked = RecordQuery(
            host=host, query=query, db=db, rp=rp, username=username, password=password
        )
        info = client.call("POST", V1 + "/recordings/query", json=msgspec.to_builtins(asked))
    elif duration:
        try:
            seconds = parse_duration(duration)
        except ConfigError as e:
            fail(f"--duration: {e}", 2)
        live = RecordStream(from_=from_, where=where, db=db, rp=rp, duration=seconds)
        info = client.call("POST", V1 + "/recordings/stream", json=msgspec.to_builtins(live))
    else:
        fail(
            "record needs --host and --query (InfluxDB), --plugin and --past (a scheduled"
            " plugin) or --duration (live stream)",
            2,
        )
    _print_recording_id(_wait_recording(client, info["id"]))


def start_recording(
    ctx: typer.Context,
    from_: Annotated[str, typer.Option("--from", help="only this measurement")] = "",
    where: Annotated[str, typer.Option("--where", help="only points matching this")] = "",
    db: Annotated[str, typer.Option("--db", help="only this database")] = "",
    rp: Annotated[str, typer.Option("--rp", help="only this retention policy")] = "",
) -> None:
    """Start recording the live stream until stop-recording."""
    from kapacitor.replay.messages import RecordStream

    live = RecordStream(from_=from_, where=where, db=db, rp=rp)
    info = client_of(ctx).call("POST", V1 + "/recordings/stream", json=msgspec.to_builtins(live))
    sys.stdout.write(f"RecordingID={info['id']}\n")


def stop_recording(
    ctx: typer.Context,
    rec_id: Annotated[
        str | None, typer.Argument(metavar="[ID]", help="default: the only running one")
    ] = None,
) -> None:
    """Stop a live recording."""
    client = client_of(ctx)
    if rec_id is None:
        running = [
            r["id"]
            for r in client.call("GET", V1 + "/recordings")["recordings"]
            if r["status"] == "running" and r["kind"] == "stream"
        ]
        if len(running) != 1:
            fail(f"{len(running)} live recordings are running: name the one to stop", 2)
        rec_id = running[0]
    info = client.call("POST", f"{V1}/recordings/{rec_id}/stop")
    sys.stdout.write(f"RecordingID={info['id']}\n")


def recordings(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """List recordings."""
    doc = client_of(ctx).call("GET", V1 + "/recordings")
    if json_out:
        print_json(doc)
        return
    rows: list[tuple[str, ...]] = [
        ("ID", "KIND", "STATUS", "POINTS", "FROM", "TO", "MEASUREMENTS", "SIZE", "CREATED")
    ]
    for r in doc["recordings"]:
        rows.append(
            (
                r["id"],
                r["kind"],
                r["status"],
                str(r["points"]),
                fmt_ns(r["first_time"]),
                fmt_ns(r["last_time"]),
                ",".join(r["measurements"]),
                str(r["size"]),
                fmt_ns(r["created"]),
            )
        )
    table(rows)


def show_recording(
    ctx: typer.Context,
    rec_id: Annotated[str, typer.Argument(help="recording id")],
    json_out: JsonOpt = False,
) -> None:
    """Show one recording."""
    r = client_of(ctx).call("GET", f"{V1}/recordings/{rec_id}")
    if json_out:
        print_json(r)
        return
    for k in ("id", "kind", "status", "points", "measurements", "size", "source", "error"):
        sys.stdout.write(f"{k + ':':14s}{r[k] if not isinstance(r[k], list) else ','.join(r[k])}\n")
    sys.stdout.write(
        f"{'from:':14s}{fmt_ns(r['first_time'])}\n{'to:':14s}{fmt_ns(r['last_time'])}\n"
    )


def delete_recording(
    ctx: typer.Context, ids: Annotated[list[str], typer.Argument(help="recording ids")]
) -> None:
    """Delete recordings."""
    client = client_of(ctx)
    for rec_id in ids:
        client.call("DELETE", f"{V1}/recordings/{rec_id}")


def export_recording(
    ctx: typer.Context, rec_id: Annotated[str, typer.Argument(help="recording id")]
) -> None:
    """Write a recording to stdout as line protocol (e.g. `kapacitor export ID > rec.lp`)."""
    r = client_of(ctx).request("GET", f"{V1}/recordings/{rec_id}/export")
    if r.status_code != 200:
        fail(r.json().get("error", f"HTTP {r.status_code}"))
    sys.stdout.buffer.write(r.content)


def import_recording(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="line-protocol file ('-' for stdin)")],
    db: Annotated[str, typer.Option("--db", help="database for lines without a header")] = "",
    rp: Annotated[
        str, typer.Option("--rp", help="retention policy for lines without a header")
    ] = "",
) -> None:
    """Make a recording from a line-protocol file."""
    try:
        data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror}", 2)
    info = client_of(ctx).call(
        "POST", V1 + "/recordings/import", params={"db": db, "rp": rp}, content=data
    )
    sys.stdout.write(f"RecordingID={info['id']}\n")
