"""The function registry: signatures, examples that compile, the reference in the docs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kapacitor.dsl.compile import compile_script
from kapacitor.dsl.functions import FUNCTIONS, REQUIRED, Kind, lookup, markdown, suggest
from kapacitor.dsl.types import Type

ROOT = Path(__file__).resolve().parents[3]


def test_signatures() -> None:
    window = lookup("window")
    assert window is not None
    assert window.signature() == (
        "window(x: number, size: int | duration, *, every: int | duration = none, "
        "align: bool = false) -> vector"
    )
    assert [p.name for p in window.positional] == ["x", "size"]
    every = window.param("every")
    assert every is not None and every.default is None and every.keyword_only
    size = window.param("size")
    assert size is not None and size.default is REQUIRED and size.required
    alert = lookup("alert")
    assert alert is not None and alert.returns == Type.ALERT
    assert lookup("mean") is lookup("avg")
    assert lookup("nope") is None


def test_the_brief_s_functions_are_registered() -> None:
    names = """window avg mean sum count min max first last median spread stddev percentile
               alert tag field abs sqrt floor ceil round""".split()
    assert set(names) <= set(FUNCTIONS)
    for name in ["avg", "sum", "min", "max", "first", "last", "median", "spread", "stddev"]:
        fn = FUNCTIONS[name]
        assert fn.kind is Kind.AGGREGATE
        assert [p.type for p in fn.params] == [Type.VECTOR] and fn.returns == Type.FLOAT


TYPOS = [("agv", "avg"), ("mx", "max"), ("stdev", "stddev"), ("windw", "window"), ("xyz", None)]


@pytest.mark.parametrize(("typo", "name"), TYPOS)
def test_suggestions(typo: str, name: str | None) -> None:
    assert suggest(typo) == name


@pytest.mark.parametrize("name", sorted({fn.name for fn in FUNCTIONS.values()}))
def test_every_example_compiles(name: str) -> None:
    compile_script(FUNCTIONS[name].example)


def test_docs_hold_the_generated_function_reference() -> None:
    doc = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- functions:begin -->\n(.*?)<!-- functions:end -->", doc, flags=re.S)
    assert m is not None
    assert m.group(1) == markdown(), "run: python -m kapacitor.dsl.functions"
