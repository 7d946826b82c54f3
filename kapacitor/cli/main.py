"""`kapacitor` commands: define, enable, disable, delete, list, show, check, alerts, ping."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from typer import Abort, Exit
from typer._click.exceptions import ClickException, NoArgsIsHelpError

from kapacitor.cli.client import ApiClient
from kapacitor.errors import ClientError
from kapacitor.sizes import format_bytes

app = typer.Typer(
    name="kapacitor",
    help="Define, enable and inspect Kapacitor plugins over the HTTP API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)

V1 = "/kapacitor/v1"


class Ctx:
    client: ApiClient


_ctx = Ctx()

UrlOpt = Annotated[
    str | None,
    typer.Option("--url", envvar="KAPACITOR_URL", help="API URL (default http://localhost:9092)"),
]
SockOpt = Annotated[
    str | None,
    typer.Option(
        "--socket", envvar="KAPACITOR_UNIX_SOCKET", help="talk to the API over this unix socket"
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


@app.callback()
def _root(url: UrlOpt = None, socket: SockOpt = None) -> None:
    _ctx.client = ApiClient(url, socket)


def _print_json(doc: Any) -> None:
    sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")


def _fail(msg: str, code: int = 1) -> None:
    sys.stderr.write(f"kapacitor: {msg}\n")
    raise typer.Exit(code)


def _diagnostics(doc: Any) -> str:
    diags = doc.get("diagnostics") if isinstance(doc, dict) else None
    if not diags:
        return ""
    return "\n".join(d.get("rendered") or d.get("message", "") for d in diags)


@app.command()
def define(
    name_arg: Annotated[str | None, typer.Argument(metavar="[NAME]", help="plugin name")] = None,
    name: Annotated[str | None, typer.Option("--name", help="plugin name")] = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="measurement the plugin watches")
    ] = None,
    script: Annotated[
        Path | None, typer.Option("--script", help="script file ('-' for stdin)")
    ] = None,
    where: Annotated[
        str, typer.Option("--where", help="filter, e.g. \"host = 'a' and dc = 'east'\"")
    ] = "",
    group_by: Annotated[
        str, typer.Option("--group-by", help="comma-separated tags: one instance per value set")
    ] = "",
    db: Annotated[str, typer.Option("--db", help="only points written to this database")] = "",
    rp: Annotated[
        str, typer.Option("--rp", help="only points written to this retention policy")
    ] = "",
    webhook: Annotated[str, typer.Option("--webhook", help="POST this plugin's alerts here")] = "",
    expire: Annotated[
        str,
        typer.Option("--expire", help="forget instances that send nothing for this long, e.g. 1h"),
    ] = "",
    max_instances: Annotated[
        int,
        typer.Option("--max-instances", help="refuse points of new instances beyond this many"),
    ] = 0,
    json_out: JsonOpt = False,
) -> None:
    """Create a plugin, or update it in place if it exists (state restarts, enabled stays)."""
    plugin = name or name_arg
    if not plugin:
        _fail("define needs a name: --name NAME", 2)
    if name and name_arg and name != name_arg:
        _fail(f"two different names given: {name_arg!r} and --name {name!r}", 2)
    if not from_:
        _fail("define needs --from MEASUREMENT", 2)
    if script is None:
        _fail("define needs --script FILE", 2)
    assert script is not None and plugin is not None
    try:
        source = sys.stdin.read() if str(script) == "-" else script.read_text()
    except OSError as e:
        _fail(f"cannot read script {script}: {e.strerror}", 2)
    body = {
        "name": plugin,
        "from": from_,
        "script": source,
        "where": where,
        "db": db,
        "rp": rp,
        "group_by": [t.strip() for t in group_by.split(",") if t.strip()] or None,
        "webhook": webhook,
        "expire": expire,
        "max_instances": max_instances,
    }
    try:
        doc = _ctx.client.call("POST", V1 + "/plugins", json=body)
    except ClientError as e:
        diag = _diagnostics(e.document)
        if diag:
            sys.stderr.write(diag.replace("script:", f"{script}:", 1) + "\n")
            _fail(f"plugin {plugin!r} not defined: fix the errors above")
        raise
    if json_out:
        _print_json(doc)


def _set_enabled(names: list[str], enabled: bool) -> None:
    for n in names:
        _ctx.client.call("PATCH", f"{V1}/plugins/{n}", json={"enabled": enabled})


@app.command()
def enable(names: Annotated[list[str], typer.Argument(help="plugin names")]) -> None:
    """Start processing live data with these plugins."""
    _set_enabled(names, True)


@app.command()
def disable(names: Annotated[list[str], typer.Argument(help="plugin names")]) -> None:
    """Stop these plugins (their definitions are kept)."""
    _set_enabled(names, False)


@app.command()
def delete(names: Annotated[list[str], typer.Argument(help="plugin names")]) -> None:
    """Delete these plugins."""
    for n in names:
        _ctx.client.call("DELETE", f"{V1}/plugins/{n}")


@app.command("list")
def list_(json_out: JsonOpt = False) -> None:
    """List plugins with their state and counters."""
    doc = _ctx.client.call("GET", V1 + "/plugins")
    if json_out:
        _print_json(doc)
        return
    rows: list[tuple[str, ...]] = [("NAME", "FROM", "ENABLED", "POINTS", "ALERTS", "ERRORS")]
    for p in doc["plugins"]:
        rows.append(
            (
                p["name"],
                p["from"],
                str(p["enabled"]).lower(),
                str(p.get("points_processed", 0)),
                str(p.get("alerts_fired", 0)),
                str(p.get("errors", 0)),
            )
        )
    _table(rows)


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="plugin name")], json_out: JsonOpt = False
) -> None:
    """Show a plugin: definition, state and counters."""
    p = _ctx.client.call("GET", f"{V1}/plugins/{name}")
    if json_out:
        _print_json(p)
        return
    out = [
        f"Name:             {p['name']}",
        f"From:             {p['from']}",
        f"Where:            {p['where'] or '-'}",
        f"Group by:         {', '.join(p['group_by']) if p['group_by'] else '(each series)'}",
        f"DB/RP:            {p['db'] or '*'}.{p['rp'] or '*'}",
        f"Enabled:          {str(p['enabled']).lower()}",
        f"Revision:         {p['revision']}",
        f"Expire:           {p.get('expire') or '(server default)'}",
        f"Instances:        {p.get('instances', 0)} ({p.get('instances_expired', 0)} expired), "
        f"state {format_bytes(p.get('state_bytes', 0))}",
        f"Max instances:    {p.get('max_instances') or '(server default)'}"
        f" ({p.get('points_refused', 0)} points refused)",
        f"Points processed: {p.get('points_processed', 0)}",
        f"Points skipped:   {p.get('points_skipped', 0)}",
        f"Alerts fired:     {p.get('alerts_fired', 0)}",
        f"Errors:           {p.get('errors', 0)}",
    ]
    if p.get("last_error"):
        out.append(f"Last error:       {p['last_error']}")
    out += ["Script:", *("    " + line for line in p["script"].splitlines())]
    sys.stdout.write("\n".join(out) + "\n")


@app.command()
def check(
    script: Annotated[Path, typer.Argument(help="script file ('-' for stdin)")],
    where: Annotated[str, typer.Option("--where", help="also check this where clause")] = "",
    explain: Annotated[
        bool, typer.Option("--explain", help="print every stage: tokens, tree, types, plan")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Check a script (and a where clause) locally, without a server; exit 1 on errors."""
    from kapacitor.dsl.explain import explain as explain_stages
    from kapacitor.errors import DslError
    from kapacitor.plugins import PluginDefinition
    from kapacitor.plugins.validate import DefinitionErrors, validate_definition

    try:
        source = sys.stdin.read() if str(script) == "-" else script.read_text()
    except OSError as e:
        _fail(f"cannot read script {script}: {e.strerror}", 2)
    problems: list[tuple[str, DslError]] = []
    try:
        validate_definition(
            PluginDefinition(name="check", from_="check", script=source, where=where)
        )
    except DefinitionErrors as e:
        problems = e.problems
    label = {"script": str(script), "where": "where"}
    if json_out:
        _print_json(
            {
                "ok": not problems,
                "diagnostics": [
                    {
                        "part": part,
                        "line": err.span.line,
                        "col": err.span.col,
                        "message": err.message,
                        "rendered": err.render(label[part]),
                    }
                    for part, err in problems
                ],
            }
        )
    elif problems:
        sys.stderr.write("\n".join(err.render(label[part]) for part, err in problems) + "\n")
    else:
        if explain:
            sys.stdout.write(explain_stages(source))
        sys.stdout.write(f"{script}: ok\n")
    if problems:
        raise typer.Exit(1)


@app.command()
def alerts(
    plugin: Annotated[str, typer.Option("--plugin", help="only this plugin's alerts")] = "",
    limit: Annotated[int, typer.Option("--limit", help="how many, newest last")] = 20,
    json_out: JsonOpt = False,
) -> None:
    """Show the most recent alert events."""
    doc = _ctx.client.call("GET", V1 + "/alerts", params={"plugin": plugin, "limit": limit})
    if json_out:
        _print_json(doc)
        return
    for a in doc["alerts"]:
        sys.stdout.write(f"{a['time']}  {a['level']:<8} {a['id']}  {a['message']}\n")


@app.command()
def ping(json_out: JsonOpt = False) -> None:
    """Check that kapacitord answers."""
    r = _ctx.client.request("GET", V1 + "/ping")
    version = r.headers.get("X-Kapacitor-Version", "")
    if r.status_code != 204:
        _fail(f"unexpected answer {r.status_code} from {_ctx.client.where}")
    if json_out:
        _print_json({"ok": True, "version": version})
    else:
        sys.stdout.write(f"kapacitord {version} at {_ctx.client.where}: ok\n")


# ---- recordings and replays ---------------------------------------------------------------
def _progress_console() -> Any:
    from rich.console import Console

    console = Console(stderr=True)
    return console if console.is_terminal else None


def _wait_recording(rec_id: str) -> dict[str, Any]:
    """Poll a recording until it is no longer running; a spinner with the count on a terminal."""
    console = _progress_console()
    status = None
    if console is not None:
        status = console.status(f"recording {rec_id}: 0 points")
        status.start()
    try:
        while True:
            info: dict[str, Any] = _ctx.client.call("GET", f"{V1}/recordings/{rec_id}")
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
        _fail(f"recording {info['id']} failed: {info['error']}")
    sys.stdout.write(f"RecordingID={info['id']}\n")


@app.command()
def record(
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
) -> None:
    """Record from InfluxDB (--host --query) or the live stream for a while (--duration)."""
    if query or host:
        if not (query and host):
            _fail("record from InfluxDB needs both --host and --query", 2)
        body = {
            "host": host,
            "query": query,
            "db": db,
            "rp": rp,
            "username": username,
            "password": password,
        }
        info = _ctx.client.call("POST", V1 + "/recordings/query", json=body)
    elif duration:
        from kapacitor.config import parse_duration
        from kapacitor.errors import ConfigError

        try:
            seconds = parse_duration(duration)
        except ConfigError as e:
            _fail(f"--duration: {e}", 2)
        body2 = {"from": from_, "where": where, "db": db, "rp": rp, "duration": seconds}
        info = _ctx.client.call("POST", V1 + "/recordings/stream", json=body2)
    else:
        _fail("record needs --host and --query (InfluxDB) or --duration (live stream)", 2)
    _print_recording_id(_wait_recording(info["id"]))


@app.command("start-recording")
def start_recording(
    from_: Annotated[str, typer.Option("--from", help="only this measurement")] = "",
    where: Annotated[str, typer.Option("--where", help="only points matching this")] = "",
    db: Annotated[str, typer.Option("--db", help="only this database")] = "",
    rp: Annotated[str, typer.Option("--rp", help="only this retention policy")] = "",
) -> None:
    """Start recording the live stream until stop-recording."""
    body = {"from": from_, "where": where, "db": db, "rp": rp}
    info = _ctx.client.call("POST", V1 + "/recordings/stream", json=body)
    sys.stdout.write(f"RecordingID={info['id']}\n")


@app.command("stop-recording")
def stop_recording(
    rec_id: Annotated[
        str | None, typer.Argument(metavar="[ID]", help="default: the only running one")
    ] = None,
) -> None:
    """Stop a live recording."""
    if rec_id is None:
        running = [
            r["id"]
            for r in _ctx.client.call("GET", V1 + "/recordings")["recordings"]
            if r["status"] == "running" and r["kind"] == "stream"
        ]
        if len(running) != 1:
            _fail(f"{len(running)} live recordings are running: name the one to stop", 2)
        rec_id = running[0]
    info = _ctx.client.call("POST", f"{V1}/recordings/{rec_id}/stop")
    sys.stdout.write(f"RecordingID={info['id']}\n")


def _fmt_ns(ns: int) -> str:
    from kapacitor.alerting.document import rfc3339

    return rfc3339(ns) if ns else "-"


@app.command()
def recordings(json_out: JsonOpt = False) -> None:
    """List recordings."""
    doc = _ctx.client.call("GET", V1 + "/recordings")
    if json_out:
        _print_json(doc)
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
                _fmt_ns(r["first_time"]),
                _fmt_ns(r["last_time"]),
                ",".join(r["measurements"]),
                str(r["size"]),
                _fmt_ns(r["created"]),
            )
        )
    _table(rows)


def _table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        sys.stdout.write(
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n"
        )


@app.command("show-recording")
def show_recording(
    rec_id: Annotated[str, typer.Argument(help="recording id")], json_out: JsonOpt = False
) -> None:
    """Show one recording."""
    r = _ctx.client.call("GET", f"{V1}/recordings/{rec_id}")
    if json_out:
        _print_json(r)
        return
    for k in ("id", "kind", "status", "points", "measurements", "size", "source", "error"):
        sys.stdout.write(f"{k + ':':14s}{r[k] if not isinstance(r[k], list) else ','.join(r[k])}\n")
    sys.stdout.write(
        f"{'from:':14s}{_fmt_ns(r['first_time'])}\n{'to:':14s}{_fmt_ns(r['last_time'])}\n"
    )


@app.command("delete-recording")
def delete_recording(ids: Annotated[list[str], typer.Argument(help="recording ids")]) -> None:
    """Delete recordings."""
    for rec_id in ids:
        _ctx.client.call("DELETE", f"{V1}/recordings/{rec_id}")


@app.command("export")
def export_recording(rec_id: Annotated[str, typer.Argument(help="recording id")]) -> None:
    """Write a recording to stdout as line protocol (e.g. `kapacitor export ID > rec.lp`)."""
    r = _ctx.client.request("GET", f"{V1}/recordings/{rec_id}/export")
    if r.status_code != 200:
        _fail(r.json().get("error", f"HTTP {r.status_code}"))
    sys.stdout.buffer.write(r.content)


@app.command("import")
def import_recording(
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
        _fail(f"cannot read {path}: {e.strerror}", 2)
    info = _ctx.client.call(
        "POST", V1 + "/recordings/import", params={"db": db, "rp": rp}, content=data
    )
    sys.stdout.write(f"RecordingID={info['id']}\n")


@app.command()
def replay(
    recording: Annotated[str, typer.Argument(help="recording id")],
    plugin: Annotated[str, typer.Argument(help="plugin name")],
    send_alerts: Annotated[
        bool, typer.Option("--send-alerts", help="also deliver alerts to the plugin's handlers")
    ] = False,
    save: Annotated[
        Path | None, typer.Option("--save", help="write the report (JSON) here")
    ] = None,
    expect: Annotated[
        Path | None, typer.Option("--expect", help="fail unless the report equals this saved one")
    ] = None,
    real_clock: Annotated[
        bool, typer.Option("--real-clock", help="replay at the recorded pace")
    ] = False,
    speed: Annotated[float, typer.Option("--speed", help="replay N times the recorded pace")] = 0.0,
    json_out: JsonOpt = False,
) -> None:
    """Replay a recording to a plugin in isolation and print what it raised."""
    from kapacitor.replay.player import compare_reports, decode_report, encode_report, report_table

    expected = None
    if expect is not None:
        try:
            expected = decode_report(expect.read_bytes())
        except OSError as e:
            _fail(f"cannot read {expect}: {e.strerror}", 2)
        except ValueError as e:
            _fail(f"{expect} is not a saved replay report: {e}", 2)
    if speed < 0:
        _fail("--speed must be positive", 2)
    body = {
        "recording": recording,
        "plugin": plugin,
        "send_alerts": send_alerts,
        "speed": speed or (1.0 if real_clock else 0.0),
    }
    report_doc: Any = None
    console = _progress_console()
    progress = None
    if console is not None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        progress = Progress(
            TextColumn("replaying {task.fields[rec]}"),
            BarColumn(),
            TextColumn("{task.fields[count]}"),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=console,
        )
        task = progress.add_task("replay", total=None, rec=recording, rate="", count="")
        progress.start()
    started = time.monotonic()
    try:
        with _ctx.client.stream("POST", V1 + "/replays", json=body) as lines:
            for raw in lines:
                doc = orjson.loads(raw)
                if "error" in doc:
                    raise ClientError(str(doc["error"]))
                if "report" in doc:
                    report_doc = doc["report"]
                elif progress is not None:
                    rate = doc["done"] / max(time.monotonic() - started, 1e-6)
                    progress.update(
                        task,
                        completed=doc["done"],
                        total=doc["total"],
                        rate=f"{rate:,.0f} points/s",
                        count=f"{doc['done']:,}/{doc['total']:,} points",
                    )
    finally:
        if progress is not None:
            progress.stop()
    if report_doc is None:
        _fail("the replay ended without a report")
    report = decode_report(orjson.dumps(report_doc))
    if save is not None:
        save.write_bytes(encode_report(report) + b"\n")
    if json_out:
        _print_json(report_doc)
    else:
        sys.stdout.write(report_table(report))
    if expected is not None:
        diffs = compare_reports(expected, report)
        if diffs:
            sys.stderr.write("\n".join(diffs) + "\n")
            _fail(f"the replay differs from {expect} in {len(diffs)} place(s)")


_DEFINITION_KEYS = (
    "from",
    "script",
    "where",
    "db",
    "rp",
    "group_by",
    "webhook",
    "expire",
    "max_instances",
)


@app.command()
def push(
    plugin: Annotated[str, typer.Argument(help="plugin name")],
    remote: Annotated[
        str, typer.Option("--remote", help="the other kapacitord, e.g. http://prod:9092")
    ],
    enable_it: Annotated[bool, typer.Option("--enable", help="enable it there")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="replace a different definition there")
    ] = False,
    token: Annotated[
        str, typer.Option("--token", envvar="KAPACITOR_REMOTE_TOKEN", help="bearer token")
    ] = "",
    username: Annotated[str, typer.Option("--username", envvar="KAPACITOR_REMOTE_USERNAME")] = "",
    password: Annotated[str, typer.Option("--password", envvar="KAPACITOR_REMOTE_PASSWORD")] = "",
) -> None:
    """Copy a plugin's definition to another kapacitord."""
    local = _ctx.client.call("GET", f"{V1}/plugins/{plugin}")
    target = ApiClient(remote, None, token=token, username=username, password=password)
    try:
        there = target.call("GET", f"{V1}/plugins/{plugin}")
    except ClientError as e:
        if e.status != 404:
            raise ClientError(f"remote {remote}: {e}") from None
        there = None
    if there is not None and not force:
        differs = [k for k in _DEFINITION_KEYS if there.get(k) != local.get(k)]
        if differs:
            _fail(
                f"plugin {plugin!r} exists on {remote} with a different {', '.join(differs)}: "
                "use --force to replace it"
            )
    body = {k: local[k] for k in _DEFINITION_KEYS} | {"name": plugin}
    try:
        target.call("POST", V1 + "/plugins", json=body)
    except ClientError as e:
        diag = _diagnostics(e.document)
        if diag:
            sys.stderr.write(diag + "\n")
        raise ClientError(f"remote {remote} rejected plugin {plugin!r}: {e}") from None
    if enable_it:
        target.call("PATCH", f"{V1}/plugins/{plugin}", json={"enabled": True})
    sys.stdout.write(f"pushed {plugin} to {remote}" + (" (enabled)" if enable_it else "") + "\n")


def main() -> None:
    """Entry point: every failure is one line on stderr and a non-zero exit code."""
    try:
        rc = app(standalone_mode=False)
        if isinstance(rc, int) and rc:
            raise SystemExit(rc)
    except ClientError as e:
        sys.stderr.write(f"kapacitor: {e}\n")
        raise SystemExit(1) from None
    except Exit as e:
        raise SystemExit(e.exit_code) from None
    except Abort:
        raise SystemExit(130) from None
    except NoArgsIsHelpError as e:
        sys.stderr.write(e.format_message() + "\n")
        raise SystemExit(2) from None
    except ClickException as e:
        sys.stderr.write(f"kapacitor: {e.format_message()}\n")
        raise SystemExit(e.exit_code) from None


if __name__ == "__main__":
    main()
