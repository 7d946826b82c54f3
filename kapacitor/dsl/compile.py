"""One call from source text to a checked script: `compile_script(source)` = parse + check."""

from __future__ import annotations

from kapacitor.dsl.check import CheckedScript, check
from kapacitor.dsl.parser import parse


def compile_script(source: str, *, require_alert: bool = True) -> CheckedScript:
    """Parse and check `source`; raises DslSyntaxError or DslTypeError (both DslError)."""
    return check(parse(source), source, require_alert=require_alert)
