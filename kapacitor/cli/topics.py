"""Topic commands: define-topic-handler, show-topic, show-topic-handler, delete-topic-handler,
and the topic listings of `list` (docs/alerts.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer
import yaml

from kapacitor.bus.subjects import EVERY_TOPIC
from kapacitor.cli.app import V1, JsonOpt, client_of
from kapacitor.cli.client import ApiClient
from kapacitor.cli.output import fail, print_json, table

__all__ = [
    "define_topic_handler",
    "delete_topic_handler",
    "list_topic_handlers",
    "list_topics",
    "load_handler",
    "show_topic",
    "show_topic_handler",
]

TOPICS = V1 + "/alerts/topics"


def _topic_path(topic: str, *rest: str) -> str:
    return "/".join([TOPICS, quote(topic, safe=""), *(quote(r, safe="") for r in rest)])


def load_handler(text: str, source: str) -> Any:
    """A handler file's document (YAML, so JSON too); a failure names the file, line and
    column."""
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        fail(f"{where}: {e.problem or e.context or 'not YAML'}", 2)
    except yaml.YAMLError as e:
        fail(f"{source}: {e}", 2)


def define_topic_handler(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="handler file, YAML or JSON ('-' for stdin)")],
    topic: Annotated[
        str, typer.Option("--topic", help="the topic, when the file does not name it")
    ] = "",
    json_out: JsonOpt = False,
) -> None:
    """Define a topic handler (fields id, topic, kind, match, options), or replace it."""
    source = "stdin" if str(file) == "-" else str(file)
    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text()
    except OSError as e:
        fail(f"cannot read {source}: {e.strerror or e}", 2)
    doc = load_handler(text, source)
    if not isinstance(doc, dict):
        fail(f"{source}: expected a mapping with id, topic, kind and options", 2)
    name = str(doc.get("topic") or topic)
    if not name:
        fail(f"{source}: no topic: add `topic:` to the file or pass --topic", 2)
    if topic and doc.get("topic") and doc["topic"] != topic:
        fail(f"{source} names topic {doc['topic']!r}, --topic {topic!r}", 2)
    doc["topic"] = name
    status, spec = client_of(ctx).call_status("POST", _topic_path(name, "handlers"), json=doc)
    if json_out:
        print_json(spec)
        return
    verb = "defined" if status == 201 else "replaced"
    sys.stdout.write(f"{verb} topic handler {spec['topic']}/{spec['id']} ({spec['kind']})\n")


def list_topics(client: ApiClient, json_out: bool) -> None:
    doc = client.call("GET", TOPICS)
    if json_out:
        print_json(doc)
        return
    rows: list[tuple[str, ...]] = [("TOPIC", "LEVEL", "ALERTS", "HANDLERS")]
    for t in doc["topics"]:
        rows.append((t["id"], t["level"], str(t["alerts"]), str(t["handlers"])))
    table(rows)


def list_topic_handlers(client: ApiClient, topic: str, json_out: bool) -> None:
    if topic:
        doc = client.call("GET", _topic_path(topic, "handlers"))
    else:
        doc = client.call("GET", V1 + "/alerts/topic-handlers")
    if json_out:
        print_json(doc)
        return
    rows: list[tuple[str, ...]] = [("TOPIC", "ID", "KIND", "OWNER", "MATCH")]
    for h in doc["handlers"]:
        rows.append((h["topic"], h["id"], h["kind"], _owner(h), h["match"] or "(every event)"))
    table(rows)
    sys.stdout.write(
        "OWNER: what defines a handler other than define-topic-handler (-): a plugin (its "
        "script's notify= or its --webhook) or the server's config ([alert] webhook-url).\n"
    )


def _owner(h: dict[str, str]) -> str:
    if h.get("plugin"):
        return f"plugin:{h['plugin']}"
    return "config" if h["topic"] == EVERY_TOPIC else "-"


def show_topic(
    ctx: typer.Context,
    topic: Annotated[str, typer.Argument(help="topic name")],
    json_out: JsonOpt = False,
) -> None:
    """Show a topic: its level, the last event of each of its alerts, its handlers."""
    doc = client_of(ctx).call("GET", _topic_path(topic))
    if json_out:
        print_json(doc)
        return
    out = [f"Topic:    {doc['id']}", f"Level:    {doc['level']}"]
    handlers = ", ".join(f"{h['id']} ({h['kind']})" for h in doc["handlers"]) or "(none)"
    out.append(f"Handlers: {handlers}")
    out.append(f"Alerts:   {len(doc['events'])}")
    sys.stdout.write("\n".join(out) + "\n")
    if doc["events"]:
        rows: list[tuple[str, ...]] = [("ID", "LEVEL", "TIME", "MESSAGE")]
        for e in doc["events"]:
            rows.append((e["id"], e["level"], e["time"], e["message"]))
        table(rows)


def show_topic_handler(
    ctx: typer.Context,
    topic: Annotated[str, typer.Argument(help="topic name")],
    handler_id: Annotated[str, typer.Argument(metavar="ID", help="handler id")],
    json_out: JsonOpt = False,
) -> None:
    """Show a topic handler: its definition and what it sent, failed, retried and dropped."""
    doc = client_of(ctx).call("GET", _topic_path(topic, "handlers", handler_id))
    if json_out:
        print_json(doc)
        return
    stats = doc.get("stats", {})
    out = [
        f"ID:       {doc['id']}",
        f"Topic:    {doc['topic']}",
        f"Kind:     {doc['kind']}",
        f"Match:    {doc['match'] or '(every event)'}",
        "Options:  " + (yaml.safe_dump(doc["options"], default_flow_style=True).strip() or "{}"),
        f"Sent:     {stats.get('sent', 0)}",
        f"Failed:   {stats.get('failed', 0)}",
        f"Retried:  {stats.get('retried', 0)}",
        f"Dropped:  {stats.get('dropped', 0)} (too far behind)",
        f"Skipped:  {stats.get('skipped', 0)} (not matched)",
        f"Suppressed: {stats.get('suppressed', 0)} (silenced, inhibited or a recovery of an "
        "alert with no_recoveries)",
        f"Overrun:  {stats.get('overrun', 0)} (times the alert stream removed events before it "
        "read them: alert.keep)",
    ]
    if stats.get("last_error"):
        out.append(f"Last error: {stats['last_error']}")
    sys.stdout.write("\n".join(out) + "\n")


def delete_topic_handler(
    ctx: typer.Context,
    topic: Annotated[str, typer.Argument(help="topic name")],
    handler_id: Annotated[str, typer.Argument(metavar="ID", help="handler id")],
) -> None:
    """Delete a topic handler (events it had not sent yet are dropped with it)."""
    client_of(ctx).call("DELETE", _topic_path(topic, "handlers", handler_id))
    sys.stdout.write(f"deleted topic handler {topic}/{handler_id}\n")
