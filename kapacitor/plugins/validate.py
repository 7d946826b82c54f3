"""The checks run before a plugin definition is stored: its name, fields, script and where."""

from __future__ import annotations

import re

from kapacitor.alerting.kinds.base import http_url_problem
from kapacitor.dsl.compile import compile_script
from kapacitor.engine import build_program
from kapacitor.engine.plan import Program
from kapacitor.errors import DefinitionErrors, DslError, PluginError
from kapacitor.match import parse_where
from kapacitor.plugins.model import PluginDefinition, expire_ns
from kapacitor.schedule.query import check_query, query_db
from kapacitor.schedule.timing import schedule_of

__all__ = ["NAME_RE", "DefinitionErrors", "validate_definition", "validate_name"]

NAME_RE = re.compile(r"^[-._A-Za-z0-9]{1,200}$")


def validate_name(name: str) -> None:
    if not NAME_RE.match(name):
        raise PluginError(
            f"invalid plugin name {name!r}: use 1-200 letters, digits, '-', '_' or '.'"
        )


def validate_definition(d: PluginDefinition) -> None:
    """Parse and check the script and where clause; raise DefinitionErrors listing all problems."""
    validate_name(d.name)
    if d.scheduled:
        _validate_scheduled(d)
    else:
        _validate_stream(d)
    expire_ns(d.expire)
    if d.max_instances < 0:
        raise PluginError(f"--max-instances must be 0 (no limit) or more, got {d.max_instances}")
    problem = http_url_problem(d.webhook) if d.webhook else None
    if problem is not None:
        raise PluginError(f"--webhook {problem}")
    problems: list[tuple[str, DslError]] = []
    try:
        checked = compile_script(d.script)
        _check_loopbacks(d, build_program(checked))
    except DslError as e:
        problems.append(("script", e))
    if d.where.strip():
        try:
            parse_where(d.where)
        except DslError as e:
            problems.append(("where", e))
    if problems:
        raise DefinitionErrors(problems)


_SCHEDULE_OPTIONS = ("every", "cron", "period", "offset", "cluster")


def _validate_stream(d: PluginDefinition) -> None:
    if not d.from_:
        raise PluginError(
            "a plugin needs --from MEASUREMENT (or, scheduled, --query SELECT... --every D)"
        )
    given = [f"--{o}" for o in _SCHEDULE_OPTIONS if getattr(d, o)]
    if given:
        raise PluginError(f"{', '.join(given)}: only for a scheduled plugin (--query)")


def _validate_scheduled(d: PluginDefinition) -> None:
    stream_options = (("--from", d.from_), ("--where", d.where.strip()), ("--group-by", d.group_by))
    for option, given in stream_options:
        if given:
            raise PluginError(
                f"{option} is for stream plugins: a scheduled plugin reads what its --query"
                " selects (put conditions in its WHERE, instances in its GROUP BY)"
            )
    check_query(d.query)
    schedule_of(d.every, d.cron, d.period, d.offset)
    if not query_db(d.query, d.db):
        raise PluginError(
            'name the database the query reads: FROM "db"."rp"."measurement", or --db'
        )


def _check_loopbacks(d: PluginDefinition, program: Program) -> None:
    """A loopback() whose points the plugin itself would read would feed it forever."""
    for op in program.outputs:
        if op.kind != "loopback" or d.scheduled or op.measurement != d.from_:
            continue
        if (not d.db or d.db == op.db) and (not d.rp or d.rp == op.rp):
            raise PluginError(
                f"loopback() writes {op.measurement!r} to {op.db}.{op.rp}, which this plugin"
                f" reads (--from {d.from_}): it would feed itself; write another measurement"
            )
