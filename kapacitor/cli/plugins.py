"""Plugin commands: define, enable, disable, delete, list, show, check, push."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kapacitor.bus.subjects import EVERY_TOPIC
from kapacitor.cli import topics
from kapacitor.cli.app import V1, JsonOpt, client_of
from kapacitor.cli.client import ApiClient
from kapacitor.cli.definition import DEFINITION_KEYS, define_body
from kapacitor.cli.output import diagnostics, fail, fmt_ns, print_json, table
from kapacitor.errors import ClientError
from kapacitor.plugins import PluginDefinition
from kapacitor.sizes import format_bytes

__all__ = ["check", "define", "delete", "disable", "enable", "list_", "push", "show"]


def define(
    ctx: typer.Context,
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
    query: Annotated[
        str,
        typer.Option(
            "--query",
            help="scheduled plugin: the InfluxQL SELECT it runs (instead of --from), e.g."
            " 'SELECT mean(usage_idle) AS idle FROM cpu GROUP BY host'",
        ),
    ] = "",
    every: Annotated[str, typer.Option("--every", help="scheduled: run the query every D")] = "",
    cron: Annotated[
        str, typer.Option("--cron", help="scheduled: run it at these times, e.g. '*/5 * * * *'")
    ] = "",
    period: Annotated[
        str,
        typer.Option("--period", help="scheduled: the range each run queries (default: interval)"),
    ] = "",
    offset: Annotated[
        str, typer.Option("--offset", help="scheduled: end that range this long before the run")
    ] = "",
    cluster: Annotated[
        str, typer.Option("--cluster", help="scheduled: the [[influxdb]] it queries (default one)")
    ] = "",
    json_out: JsonOpt = False,
) -> None:
    """Create a plugin, or update it in place if it exists (state restarts, enabled stays).

    A stream plugin watches --from MEASUREMENT; a scheduled one runs --query every --every
    (or by --cron) against InfluxDB, each result series an instance."""
    plugin = name or name_arg
    if not plugin:
        fail("define needs a name: --name NAME", 2)
    if name and name_arg and name != name_arg:
        fail(f"two different names given: {name_arg!r} and --name {name!r}", 2)
    if not from_ and not query:
        fail("define needs --from MEASUREMENT (or --query SELECT... --every D)", 2)
    if script is None:
        fail("define needs --script FILE", 2)
    try:
        source = sys.stdin.read() if str(script) == "-" else script.read_text()
    except OSError as e:
        fail(f"cannot read script {script}: {e.strerror}", 2)
    definition = PluginDefinition(
        name=plugin,
        from_=from_ or "",
        script=source,
        where=where,
        db=db,
        rp=rp,
        group_by=[t.strip() for t in group_by.split(",") if t.strip()] or None,
        webhook=webhook,
        expire=expire,
        max_instances=max_instances,
        query=query,
        every=every,
        cron=cron,
        period=period,
        offset=offset,
        cluster=cluster,
    )
    try:
        doc = client_of(ctx).call("POST", V1 + "/plugins", json=define_body(definition))
    except ClientError as e:
        diag = diagnostics(e.document)
        if diag:
            sys.stderr.write(diag.replace("script:", f"{script}:", 1) + "\n")
            fail(f"plugin {plugin!r} not defined: fix the errors above")
        raise
    if json_out:
        print_json(doc)


def _set_enabled(client: ApiClient, names: list[str], enabled: bool) -> None:
    for n in names:
        client.call("PATCH", f"{V1}/plugins/{n}", json={"enabled": enabled})


def enable(
    ctx: typer.Context, names: Annotated[list[str], typer.Argument(help="plugin names")]
) -> None:
    """Start processing live data with these plugins."""
    _set_enabled(client_of(ctx), names, True)


def disable(
    ctx: typer.Context, names: Annotated[list[str], typer.Argument(help="plugin names")]
) -> None:
    """Stop these plugins (their definitions are kept)."""
    _set_enabled(client_of(ctx), names, False)


def delete(
    ctx: typer.Context, names: Annotated[list[str], typer.Argument(help="plugin names")]
) -> None:
    """Delete these plugins."""
    client = client_of(ctx)
    for n in names:
        client.call("DELETE", f"{V1}/plugins/{n}")


LISTS = ("plugins", "topics", "topic-handlers")
# The alert log holds every event; the counter only those that raised a level: said once, as
# users compared the two and found them different.
FIRED_NOTE = (
    "FIRED: alert events that raised a level (INFO, WARNING, CRITICAL); recoveries to OK are not\n"
    "counted here, though the alert log and `kapacitor alerts` list them too.\n"
)


def list_(
    ctx: typer.Context,
    what: Annotated[
        str, typer.Argument(metavar="[plugins|topics|topic-handlers]", help="what to list")
    ] = "plugins",
    topic: Annotated[str, typer.Option("--topic", help="topic-handlers of this topic only")] = "",
    json_out: JsonOpt = False,
) -> None:
    """List plugins (state, counters), topics (level, alerts) or topic handlers."""
    if what not in LISTS:
        fail(f"list {what!r}: can list {', '.join(LISTS)}", 2)
    if what == "topics":
        topics.list_topics(client_of(ctx), json_out)
        return
    if what == "topic-handlers":
        topics.list_topic_handlers(client_of(ctx), topic, json_out)
        return
    doc = client_of(ctx).call("GET", V1 + "/plugins")
    if json_out:
        print_json(doc)
        return
    rows: list[tuple[str, ...]] = [("NAME", "FROM", "ENABLED", "POINTS", "FIRED", "ERRORS")]
    for p in doc["plugins"]:
        rows.append(
            (
                p["name"],
                p["from"] or f"(query, {p['every'] or p['cron']})",
                str(p["enabled"]).lower(),
                str(p.get("points_processed", 0)),
                str(p.get("alerts_fired", 0)),
                str(p.get("errors", 0)),
            )
        )
    table(rows)
    if doc["plugins"]:
        sys.stdout.write(FIRED_NOTE)


def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="plugin name")],
    json_out: JsonOpt = False,
) -> None:
    """Show a plugin: definition, state and counters."""
    p = client_of(ctx).call("GET", f"{V1}/plugins/{name}", params={"handlers": "true"})
    if json_out:
        print_json(p)
        return
    out = [f"Name:             {p['name']}"]
    if p.get("query"):
        when = f"every {p['every']}" if p["every"] else f"cron {p['cron']!r} (UTC)"
        out += [
            f"Query:            {p['query']}",
            f"Schedule:         {when}, period {p['period'] or '(the interval)'},"
            f" offset {p['offset'] or '0s'}, InfluxDB {p['cluster'] or '(default)'}",
            f"Queries:          {p.get('queries', 0)} ({p.get('query_errors', 0)} failed,"
            f" {p.get('ticks_skipped', 0)} ticks skipped), last tick"
            f" {fmt_ns(p.get('last_tick', 0))}",
        ]
    else:
        out += [
            f"From:             {p['from']}",
            f"Where:            {p['where'] or '-'}",
            f"Group by:         {', '.join(p['group_by']) if p['group_by'] else '(each series)'}",
        ]
    out += [
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
        f"Alerts fired:     {p.get('alerts_fired', 0)} (events to INFO, WARNING or CRITICAL;"
        " recoveries not counted)",
        f"Errors:           {p.get('errors', 0)} (and {p.get('template_errors', 0)} messages "
        "that were no template, sent as written)",
    ]
    if p.get("output_points") or p.get("output_dropped"):
        out.append(
            f"Outputs:          {p.get('output_points', 0)} points sent,"
            f" {p.get('output_dropped', 0)} dropped"
        )
    if p.get("last_error"):
        out.append(f"Last error:       {p['last_error']}")
    for t in p.get("topics", []):
        every = t["topic"] == EVERY_TOPIC  # the webhooks
        out.append("Webhooks (every event):" if every else f"Topic {t['topic']}:")
        if not t["handlers"]:
            out.append("    (no handlers: define-topic-handler adds one)")
        for h in t["handlers"]:
            out.append(
                f"    {h['id']} ({h['kind']}): sent {h['sent']}, failed {h['failed']}, "
                f"retried {h['retried']}, dropped {h['dropped']}, skipped {h['skipped']}, "
                f"suppressed {h.get('suppressed', 0)}"
                + (f", overrun {h['overrun']}" if h.get("overrun") else "")
            )
    out += ["Script:", *("    " + line for line in p["script"].splitlines())]
    sys.stdout.write("\n".join(out) + "\n")


def check(
    script: Annotated[Path, typer.Argument(help="script file ('-' for stdin)")],
    where: Annotated[str, typer.Option("--where", help="also check this where clause")] = "",
    explain: Annotated[
        bool, typer.Option("--explain", help="print every stage: tokens, tree, types, plan")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Check a script (and a where clause) locally, without a server; exit 1 on errors."""
    from kapacitor.engine.explain import explain as explain_stages
    from kapacitor.errors import DslError
    from kapacitor.plugins.validate import DefinitionErrors, validate_definition

    try:
        source = sys.stdin.read() if str(script) == "-" else script.read_text()
    except OSError as e:
        fail(f"cannot read script {script}: {e.strerror}", 2)
    problems: list[tuple[str, DslError]] = []
    try:
        validate_definition(
            PluginDefinition(name="check", from_="check", script=source, where=where)
        )
    except DefinitionErrors as e:
        problems = e.problems
    label = {"script": str(script), "where": "where"}
    if json_out:
        print_json(
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


def push(
    ctx: typer.Context,
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
    local = client_of(ctx).call("GET", f"{V1}/plugins/{plugin}")
    target = ApiClient(remote, None, token=token, username=username, password=password)
    try:
        there = target.call("GET", f"{V1}/plugins/{plugin}")
    except ClientError as e:
        if e.status != 404:
            raise ClientError(f"remote {remote}: {e}") from None
        there = None
    if there is not None and not force:
        differs = [k for k in DEFINITION_KEYS if there.get(k) != local.get(k)]
        if differs:
            fail(
                f"plugin {plugin!r} exists on {remote} with a different {', '.join(differs)}: "
                "use --force to replace it"
            )
    body = {k: local[k] for k in DEFINITION_KEYS} | {"name": plugin}
    try:
        target.call("POST", V1 + "/plugins", json=body)
    except ClientError as e:
        diag = diagnostics(e.document)
        if diag:
            sys.stderr.write(diag + "\n")
        raise ClientError(f"remote {remote} rejected plugin {plugin!r}: {e}") from None
    if enable_it:
        target.call("PATCH", f"{V1}/plugins/{plugin}", json={"enabled": True})
    sys.stdout.write(f"pushed {plugin} to {remote}" + (" (enabled)" if enable_it else "") + "\n")
