"""The package's modules use each other's public names only, at module level, acyclically."""

from __future__ import annotations

import ast
from pathlib import Path

import kapacitor.match.where as package

PREFIX = package.__name__ + "."
TREES = {p.stem: ast.parse(p.read_text()) for p in Path(package.__file__).parent.glob("*.py")}


def _sibling_imports(tree: ast.Module) -> list[tuple[str, str]]:
    return [
        (node.module.removeprefix(PREFIX), alias.name)
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PREFIX)
        for alias in node.names
    ]


def test_modules_import_only_public_names_of_siblings() -> None:
    private = [
        (module, sibling, name)
        for module, tree in TREES.items()
        for sibling, name in _sibling_imports(tree)
        if name.startswith("_")
    ]
    assert private == []


def test_no_import_inside_a_function() -> None:
    late = [
        (module, node.name)
        for module, tree in TREES.items()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and any(isinstance(n, ast.Import | ast.ImportFrom) for n in ast.walk(node))
    ]
    assert late == []


def test_sibling_imports_have_no_cycle() -> None:
    graph = {m: {s for s, _ in _sibling_imports(tree)} for m, tree in TREES.items()}
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import cycle: {' -> '.join((*path, module))}"
        if module not in done:
            for dep in graph.get(module, ()):
                visit(dep, (*path, module))
            done.add(module)

    for module in graph:
        visit(module, ())
