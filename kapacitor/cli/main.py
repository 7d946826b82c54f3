"""`kapacitor` commands: define, enable, disable, delete, list, show, check, alerts, ping."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from typer import Abort, Exit
from typer._click.exceptions import ClickException, NoArgsIsHelpError

from kapacitor.cli.client import ApiClient
from kapacitor.errors import ClientError

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
    }
    try:
        doc = _ctx.client.call("POST", V1 + "/plugins", json=body)
    except ClientError as e:
        diag = _diagnostics(getattr(e, "doc", None))
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
    rows = [("NAME", "FROM", "ENABLED", "POINTS", "ALERTS", "ERRORS")]
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
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        sys.stdout.write(
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n"
        )


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
    from kapacitor.plugins import DefinitionErrors, PluginDefinition, validate_definition

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
