"""The checks run before a plugin definition is stored: its name, fields, script and where."""

from __future__ import annotations

import re

from kapacitor.alerting.kinds.base import http_url_problem
from kapacitor.dsl.compile import compile_script
from kapacitor.engine import build_program
from kapacitor.errors import DefinitionErrors, DslError, PluginError
from kapacitor.match import parse_where
from kapacitor.plugins.model import PluginDefinition, expire_ns

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
    if not d.from_:
        raise PluginError("a plugin needs --from MEASUREMENT")
    expire_ns(d.expire)
    if d.max_instances < 0:
        raise PluginError(f"--max-instances must be 0 (no limit) or more, got {d.max_instances}")
    problem = http_url_problem(d.webhook) if d.webhook else None
    if problem is not None:
        raise PluginError(f"--webhook {problem}")
    problems: list[tuple[str, DslError]] = []
    try:
        checked = compile_script(d.script)
        build_program(checked)
    except DslError as e:
        problems.append(("script", e))
    if d.where.strip():
        try:
            parse_where(d.where)
        except DslError as e:
            problems.append(("where", e))
    if problems:
        raise DefinitionErrors(problems)
