"""Golden files: each golden/*.kap compiles to its printed tree, types and plan (or fails with
its exact error) as recorded in the .out next to it. UPDATE_GOLDEN=1 rewrites the .out files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kapacitor.dsl.compile import compile_script
from kapacitor.dsl.parser import parse
from kapacitor.engine import build_program
from kapacitor.errors import DslError

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(GOLDEN.glob("*.kap"))


def render(path: Path) -> str:
    source = path.read_text(encoding="utf-8")
    try:
        checked = compile_script(source)
    except DslError as exc:
        return f"error ({type(exc).__name__}):\n{exc.render(path.name)}\n"
    tree = parse(source)
    assert parse(str(tree)) == tree  # printing round-trips
    lines = [str(checked.script), "-- fields"]
    lines += [f"{name}: {t.name.lower()}" for name, t in checked.fields.items()]
    lines += ["-- types"]
    for statement in checked.script.statements:
        node = getattr(statement, "value", statement)
        lines.append(f"{statement}  :: {checked.type_of(node).name.lower()}")
    lines += [w.render(path.name) for w in checked.warnings]
    lines += ["-- plan"]
    try:
        lines.append(str(build_program(checked)))
    except DslError as exc:
        lines.append(f"error ({type(exc).__name__}):\n{exc.render(path.name)}")
    return "\n".join(lines) + "\n"


def test_there_are_golden_cases() -> None:
    assert len(CASES) >= 10


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden(path: Path) -> None:
    actual = render(path)
    expected_path = path.with_suffix(".out")
    if os.environ.get("UPDATE_GOLDEN") == "1":
        expected_path.write_text(actual, encoding="utf-8")
    assert expected_path.exists(), f"missing {expected_path.name}: run with UPDATE_GOLDEN=1"
    assert actual == expected_path.read_text(encoding="utf-8")
