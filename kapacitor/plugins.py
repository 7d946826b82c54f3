"""Plugin definitions: what `kapacitor define` stores, and the checks run before storing it."""

from __future__ import annotations

import re

import msgspec

from kapacitor.errors import DslError, PluginError

NAME_RE = re.compile(r"^[-._A-Za-z0-9]{1,200}$")


class PluginDefinition(msgspec.Struct, frozen=True, kw_only=True):
    """One plugin. `from_` is the measurement; `group_by` None means one instance per series."""

    name: str
    from_: str = msgspec.field(name="from")
    script: str
    where: str = ""
    db: str = ""
    rp: str = ""
    group_by: list[str] | None = None
    webhook: str = ""
    expire: str = ""  # forget instances silent this long (a duration); "": the server default
    max_instances: int = 0  # refuse points of new instances beyond this many; 0: server default
    enabled: bool = False
    created: int = 0  # ns since epoch
    modified: int = 0
    revision: int = 0  # bumped on every define, so runtimes know to rebuild state


def state_fingerprint(d: PluginDefinition) -> str:
    """Which definition a runtime's state belongs to: re-defining a plugin (a new revision) or
    deleting and defining it again (a new creation time) makes saved state inapplicable."""
    return f"{d.created}.{d.revision}"


class PluginStats(msgspec.Struct, kw_only=True):
    plugin: str
    revision: int = 0
    points_processed: int = 0
    points_skipped: int = 0
    alerts_fired: int = 0
    errors: int = 0
    last_error: str = ""
    last_point_time: int = 0
    instances: int = 0  # held in memory now
    instances_expired: int = 0
    state_bytes: int = 0  # about what their state takes in memory
    points_refused: int = 0  # of new instances beyond max_instances


def encode_definition(d: PluginDefinition) -> bytes:
    return msgspec.json.encode(d)


def decode_definition(data: bytes) -> PluginDefinition:
    try:
        return msgspec.json.decode(data, type=PluginDefinition)
    except msgspec.DecodeError as e:
        raise PluginError(f"stored plugin definition is unreadable: {e}") from e


def validate_name(name: str) -> None:
    if not NAME_RE.match(name):
        raise PluginError(
            f"invalid plugin name {name!r}: use 1-200 letters, digits, '-', '_' or '.'"
        )


class DefinitionErrors(PluginError):
    """Everything wrong with a definition, each error naming the part (script or where)."""

    def __init__(self, problems: list[tuple[str, DslError]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{part} {e}" for part, e in problems))

    def render(self, script_name: str = "script") -> str:
        out = []
        for part, e in self.problems:
            out.append(e.render(script_name if part == "script" else "where"))
        return "\n".join(out)


def expire_ns(text: str) -> int:
    """`--expire` in nanoseconds (0: not set); PluginError unless a duration > 0."""
    from kapacitor.config import parse_duration
    from kapacitor.errors import ConfigError

    if not text:
        return 0
    try:
        seconds = parse_duration(text)
    except ConfigError:
        seconds = -1.0
    if not seconds > 0:
        raise PluginError(f"--expire must be a duration > 0 such as 1h, got {text!r}")
    return int(seconds * 1e9)


def validate_definition(d: PluginDefinition) -> None:
    """Parse and check the script and where clause; raise DefinitionErrors listing all problems."""
    from kapacitor.dsl.compile import compile_script
    from kapacitor.engine import build_program
    from kapacitor.match.where import parse_where

    validate_name(d.name)
    if not d.from_:
        raise PluginError("a plugin needs --from MEASUREMENT")
    expire_ns(d.expire)
    if d.max_instances < 0:
        raise PluginError(f"--max-instances must be 0 (no limit) or more, got {d.max_instances}")
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
