"""`kapacitor alerts`: the alerts not OK now, or (--history) past alert events; `kapacitor
silence create|list|expire`: silences."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from kapacitor.cli.app import V1, JsonOpt, client_of
from kapacitor.cli.output import fmt_ns, print_json, table

__all__ = ["alerts", "silence_app"]

PluginOpt = Annotated[str, typer.Option("--plugin", help="only this plugin's alerts")]
TopicOpt = Annotated[str, typer.Option("--topic", help="only this topic's alerts")]
LevelOpt = Annotated[
    str, typer.Option("--level", help="only this level: OK, INFO, WARNING or CRITICAL")
]


def alerts(
    ctx: typer.Context,
    history: Annotated[
        bool, typer.Option("--history", help="past events, newest first, not the current state")
    ] = False,
    plugin: PluginOpt = "",
    topic: TopicOpt = "",
    level: LevelOpt = "",
    since: Annotated[
        str, typer.Option("--since", help="with --history: events stored within this long (1h)")
    ] = "",
    limit: Annotated[int, typer.Option("--limit", help="with --history: at most this many")] = 100,
    json_out: JsonOpt = False,
) -> None:
    """Show every alert that is not OK now (level, since when, plugin, topic), or with
    --history the past events, silenced ones included."""
    client = client_of(ctx)
    filters = {"plugin": plugin, "topic": topic, "level": level}
    if history:
        doc = client.call(
            "GET", V1 + "/alerts/history", params={**filters, "since": since, "limit": limit}
        )
        if json_out:
            print_json(doc)
            return
        rows: list[tuple[str, ...]] = [("TIME", "LEVEL", "PLUGIN", "TOPIC", "ID", "MESSAGE")]
        for e in doc["events"]:
            note = f" [{e['suppressed']}]" if e.get("suppressed") else ""
            rows.append(
                (
                    e["time"],
                    e["level"],
                    e["plugin"],
                    e.get("topic") or "-",
                    e["id"],
                    e["message"] + note,
                )
            )
        _table_or_none(rows, "no alert events")
        return
    if since:
        raise typer.BadParameter("--since reads the history: add --history")
    doc = client.call("GET", V1 + "/alerts", params=filters)
    if json_out:
        print_json(doc)
        return
    rows = [("LEVEL", "SINCE", "PLUGIN", "TOPIC", "ID")]
    for a in doc["alerts"]:
        rows.append((a["level"], fmt_ns(a["since"]), a["plugin"], a["topic"] or "-", a["id"]))
    _table_or_none(rows, "no alert is raised")
    seen = doc["interpreters"]
    if seen["answered"] < seen["running"]:
        sys.stderr.write(
            f"kapacitor: {seen['running'] - seen['answered']} of {seen['running']} interpreters "
            "did not answer: their alerts are missing\n"
        )


def _table_or_none(rows: list[tuple[str, ...]], none: str) -> None:
    if len(rows) == 1:
        sys.stdout.write(f"({none})\n")
    else:
        table(rows)


silence_app = typer.Typer(
    help="Silence alert events for a while: recorded in the history, sent to no handler.",
    no_args_is_help=True,
)


@silence_app.command("create")
def create(
    ctx: typer.Context,
    match: Annotated[
        str,
        typer.Option(
            "--match", help="which events, a where clause: host = 'a' and level = 'CRITICAL'"
        ),
    ],
    for_: Annotated[str, typer.Option("--for", help="how long: 30m, 2h, 1d")],
    comment: Annotated[str, typer.Option("--comment", help="why, for whoever reads it")] = "",
    json_out: JsonOpt = False,
) -> None:
    """Create a silence; prints its id."""
    doc = client_of(ctx).call(
        "POST", V1 + "/alerts/silences", json={"match": match, "for": for_, "comment": comment}
    )
    if json_out:
        print_json(doc)
        return
    sys.stdout.write(f"silence {doc['id']} until {fmt_ns(doc['ends'])}\n")


@silence_app.command("list")
def list_(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="ended silences too")] = False,
    json_out: JsonOpt = False,
) -> None:
    """List the silences in force (--all: ended ones too)."""
    doc = client_of(ctx).call("GET", V1 + "/alerts/silences", params={"all": all_})
    if json_out:
        print_json(doc)
        return
    rows: list[tuple[str, ...]] = [("ID", "ACTIVE", "ENDS", "MATCH", "COMMENT")]
    for s in doc["silences"]:
        rows.append((s["id"], _yes(s["active"]), fmt_ns(s["ends"]), s["match"], s["comment"]))
    _table_or_none(rows, "no silence")


@silence_app.command("expire")
def expire(
    ctx: typer.Context,
    silence_id: Annotated[str, typer.Argument(metavar="ID", help="the silence's id")],
    json_out: JsonOpt = False,
) -> None:
    """End a silence now: events are sent again from this moment."""
    doc: dict[str, Any] = client_of(ctx).call("POST", f"{V1}/alerts/silences/{silence_id}/expire")
    if json_out:
        print_json(doc)
        return
    sys.stdout.write(f"silence {doc['id']} ended {fmt_ns(doc['ends'])}\n")


def _yes(b: bool) -> str:
    return "yes" if b else "no"
