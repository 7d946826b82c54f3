"""The shape of the code base, checked: dependencies point one way, modules use each other's
public names only, import at module level, and the module graph has no cycle."""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("kapacitor", "services")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


TREES = {
    _module_name(p): ast.parse(p.read_text(), str(p))
    for package in PACKAGES
    for p in sorted((ROOT / package).rglob("*.py"))
}


def _is_module(name: str) -> bool:
    return name in TREES


def _top_level_imports(tree: ast.Module) -> Iterator[tuple[str, str | None]]:
    """(module, name) for each project import at module level; name None for `import m`."""
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in PACKAGES:
                for alias in node.names:
                    yield node.module, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PACKAGES:
                    yield alias.name, None


def _dependencies(tree: ast.Module) -> set[str]:
    """The project modules a module needs at import time (`from pkg import mod` is `pkg.mod`)."""
    deps = set()
    for module, name in _top_level_imports(tree):
        child = f"{module}.{name}"
        deps.add(child if name is not None and _is_module(child) else module)
    return deps


def test_the_library_never_imports_the_services() -> None:
    upward = [
        (module, imported)
        for module, tree in TREES.items()
        if module.startswith("kapacitor")
        for imported, _ in _top_level_imports(tree)
        if imported.startswith("services")
    ]
    assert upward == []


def test_modules_import_only_public_names_of_other_modules() -> None:
    private = [
        (module, imported, name)
        for module, tree in TREES.items()
        for imported, name in _top_level_imports(tree)
        if name is not None and name.startswith("_") and not name.endswith("__")
    ]
    assert private == []


# Modules that may import inside a function, and why.
LAZY_IMPORTS = {
    # `kapacitor --help`, shell completion and quick commands must not pay for numpy, rich
    # and the engine; a command imports what it needs when it runs.
    "kapacitor.cli",
    # uvloop is optional: asyncio's own loop is used where it is missing.
    "kapacitor.daemon.service",
    # Test-only dependencies (hypothesis, testcontainers) are imported where they are used.
    "kapacitor.testing",
    # Topic handler kinds (and paho-mqtt, smtplib) only where a handler is defined or run:
    # every service is forked from one image of all imports, and they would weigh on the idle
    # memory of all of them (docs/performance.md).
    "kapacitor.alerting.kinds",
    "kapacitor.alerting.replayed",
    "kapacitor.alerting.script_handlers",
    "kapacitor.alerting.topic_handlers",
    "services.interpreter.topic_handlers",
    # ...and where a script's handler() is checked: the kinds import the engine, which
    # imports the checker.
    "kapacitor.dsl.alert_check",
    # croniter (and dateutil) only where a scheduled plugin's --cron is used: ~1 MB on every
    # service otherwise.
    "kapacitor.schedule.timing",
}


def test_imports_are_at_module_level() -> None:
    """An import inside a function hides a cycle or an upward dependency."""
    late = [
        (module, node.name)
        for module, tree in TREES.items()
        if not any(module == m or module.startswith(m + ".") for m in LAZY_IMPORTS)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and any(isinstance(imp, ast.Import | ast.ImportFrom) for imp in ast.walk(node))
    ]
    assert late == []


def test_the_module_graph_has_no_cycle() -> None:
    graph = {module: _dependencies(tree) for module, tree in TREES.items()}
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import cycle: {' -> '.join((*path, module))}"
        if module in done:
            return
        for dep in sorted(graph.get(module, ())):
            if not module.startswith(dep + "."):  # a package's own __init__ runs first anyway
                visit(dep, (*path, module))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())


@pytest.mark.parametrize("module", sorted(TREES))
def test_every_module_is_found_by_its_name(module: str) -> None:
    assert importlib.util.find_spec(module) is not None
