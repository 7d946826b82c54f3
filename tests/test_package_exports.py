"""Every package under kapacitor/ says what it exports: an `__all__` in its __init__.py, each
name of it importable. Packages are found by walking the tree, so a new one is covered too."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import kapacitor

ROOT = Path(kapacitor.__file__).parent
PACKAGES = sorted(
    ".".join(("kapacitor", *init.parent.relative_to(ROOT).parts))
    for init in ROOT.rglob("__init__.py")
)


def declared_all(package: str) -> list[str] | None:
    """The names the package's __init__.py assigns to `__all__`, read from its source so that a
    name computed at import time cannot stand in for a declaration; None when there is none."""
    init = ROOT.joinpath(*package.split(".")[1:], "__init__.py")
    for node in ast.parse(init.read_text()).body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign) and node.value is not None
            else []
        )
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            value = ast.literal_eval(node.value)  # type: ignore[union-attr,arg-type]
            assert isinstance(value, list | tuple), f"{package}.__all__ is not a literal list"
            return [str(v) for v in value]
    return None


def test_the_walk_finds_the_packages() -> None:
    assert {"kapacitor", "kapacitor.engine", "kapacitor.testing"} <= set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_package_declares_all_and_every_name_imports(package: str) -> None:
    names = declared_all(package)
    assert names is not None, f"{package}/__init__.py defines no __all__"
    assert len(names) == len(set(names)), f"{package}.__all__ repeats a name"
    module = importlib.import_module(package)
    assert list(module.__all__) == names
    missing = [n for n in names if not hasattr(module, n)]
    assert not missing, f"{package}.__all__ names what it does not define: {missing}"
    star: dict[str, object] = {}
    exec(f"from {package} import *", star)
    assert set(names) <= set(star)
