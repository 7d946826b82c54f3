"""The code blocks of docs/*.md stay true: each says what it is in its fence's info string, and
what can run does.

- `python`: run, in order, in one namespace per document (a later block may use an earlier
  block's names, as a reader would).
- `python illustrative`: compiled, not run (a fragment that needs context the page lacks).
- `kap`: a plugin script; the language's checker must accept it.
- `json`: a document (an alert event, an API answer); it must parse.
- `topic-handler`: a topic handler file (YAML); `define-topic-handler`'s checks must accept it.
- `text` (output, a plan, an error as printed), `sh` (a shell session or command-line
  options), `ebnf` (the grammar, compared with the parser's rules by
  tests/kapacitor/dsl/test_dsl_parser.py): shown, not run.

A generated region (`<!-- NAME:begin -->` ... `<!-- NAME:end -->`) is left out: its test keeps
it equal to its generator's output (the function reference: tests/kapacitor/dsl/
test_dsl_functions.py, whose examples tests/kapacitor/dsl and engine compile and plan).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
import yaml

from kapacitor.alerting.topic_handlers import check_handler
from kapacitor.config import load_config
from kapacitor.dsl.compile import compile_script

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))
GENERATED = re.compile(r"<!-- (\w+):begin -->.*?<!-- \1:end -->", re.S)
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```[ \t]*$", re.M | re.S)
KINDS = {
    "python",
    "python illustrative",
    "kap",
    "json",
    "toml",
    "topic-handler",
    "text",
    "sh",
    "ebnf",
}


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int  # of the opening fence, 1-based
    info: str
    code: str

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def blocks(doc: Path) -> list[Block]:
    text = doc.read_text(encoding="utf-8")
    # Blank out generated regions, keeping their newlines so line numbers stay right.
    text = GENERATED.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    return [
        Block(doc, text.count("\n", 0, m.start()) + 1, m.group(1).strip(), m.group(2))
        for m in FENCE.finditer(text)
    ]


ALL = [b for doc in DOCS for b in blocks(doc)]


def test_docs_have_blocks_of_every_runnable_kind() -> None:
    kinds = {b.info for b in ALL}
    assert {"python", "kap"} <= kinds


@pytest.mark.parametrize("block", ALL, ids=lambda b: b.where)
def test_every_block_says_what_it_is(block: Block) -> None:
    assert block.info in KINDS, (
        f"{block.where}: fence info {block.info!r}: say what the block is, one of {sorted(KINDS)}"
    )


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_python_blocks_run(doc: Path) -> None:
    namespace: dict[str, object] = {"__name__": f"docs.{doc.stem}"}
    for block in blocks(doc):
        if block.info == "python":
            exec(compile(block.code, block.where, "exec"), namespace)
        elif block.info == "python illustrative":
            compile(block.code, block.where, "exec")


@pytest.mark.parametrize("block", [b for b in ALL if b.info == "kap"], ids=lambda b: b.where)
def test_plugin_scripts_check(block: Block) -> None:
    compile_script(block.code)


@pytest.mark.parametrize("block", [b for b in ALL if b.info == "json"], ids=lambda b: b.where)
def test_json_blocks_parse(block: Block) -> None:
    orjson.loads(block.code)


@pytest.mark.parametrize(
    "block", [b for b in ALL if b.info == "topic-handler"], ids=lambda b: b.where
)
def test_topic_handler_files_check(block: Block) -> None:
    check_handler(yaml.safe_load(block.code))


@pytest.mark.parametrize("block", [b for b in ALL if b.info == "toml"], ids=lambda b: b.where)
def test_config_blocks_load(block: Block, tmp_path: Path) -> None:
    f = tmp_path / "kapacitor.toml"
    f.write_text(block.code)
    load_config(f, env={})
