"""Every stage of the language pipeline for one script, printed: tokens, AST, types, plan.

It lives in engine/ because its last stage is the planner (engine depends on dsl, not back).

`kapacitor check --explain FILE` shows this, so a surprising result can be pinned on the stage
that produced it.
"""

from __future__ import annotations

from kapacitor.dsl.ast import Let
from kapacitor.dsl.check import check
from kapacitor.dsl.parser import parse
from kapacitor.dsl.tokens import tokenize
from kapacitor.engine.plan import build_program


def explain(source: str) -> str:
    """The four stages of `source`; raises the first DslError any stage raises."""
    out = ["# tokens"]
    for tok in tokenize(source):
        out.append(f"{tok.span.line}:{tok.span.col}\t{tok.type}\t{tok.text!r}")
    script = parse(source)
    out += ["", "# syntax tree", str(script)]
    checked = check(script, source)
    out += ["", "# types"]
    for stmt in checked.script.statements:
        expr = stmt.value if isinstance(stmt, Let) else stmt
        label = f"let {stmt.name}" if isinstance(stmt, Let) else str(stmt)
        out.append(f"{label} : {checked.type_of(expr).name}")
    for name, typ in sorted(checked.fields.items()):
        out.append(f"field {name} : {typ.name}")
    for w in checked.warnings:
        out.append(f"warning {w}")
    out += ["", "# plan", str(build_program(checked))]
    return "\n".join(out) + "\n"
