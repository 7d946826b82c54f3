"""The commands in process: the global options become a context object holding the client."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from kapacitor.cli import app as cli_app
from kapacitor.cli.main import COMMANDS, GROUPS, build_app


class FakeClient:
    made: ClassVar[list[FakeClient]] = []

    def __init__(self, url: str | None = None, socket: str | None = None, **kw: Any) -> None:
        self.url, self.socket = url, socket
        self.where = url or ""
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        FakeClient.made.append(self)

    def call(self, method: str, path: str, **kw: Any) -> Any:
        self.calls.append((method, path, kw))
        if path.endswith("/plugins") and method == "GET":
            return {"plugins": []}
        return {"id": "r1", "status": "finished"}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> type[FakeClient]:
    FakeClient.made = []
    monkeypatch.setattr(cli_app, "ApiClient", FakeClient)
    return FakeClient


def test_help_lists_the_commands_in_table_order() -> None:
    out = CliRunner().invoke(build_app(), ["--help"]).output
    listed = [line.split()[0] for line in out.split("Commands:")[1].splitlines() if line.strip()]
    assert listed == [name for name, _ in COMMANDS] + [name for name, _ in GROUPS]


def test_global_options_reach_the_command_through_the_context(fake: type[FakeClient]) -> None:
    r = CliRunner().invoke(build_app(), ["--url", "http://k:1", "--socket", "/s", "list"])
    assert r.exit_code == 0, r.output
    (client,) = fake.made
    assert (client.url, client.socket) == ("http://k:1", "/s")
    assert client.calls == [("GET", "/kapacitor/v1/plugins", {})]


def test_define_sends_the_models_fields(fake: type[FakeClient], tmp_path: Path) -> None:
    script = tmp_path / "s.kap"
    script.write_text("alert(value, >, 1)\n")
    args = ["define", "p", "--from", "cpu", "--script", str(script), "--group-by", "host, dc"]
    r = CliRunner().invoke(build_app(), args)
    assert r.exit_code == 0, r.output
    ((method, path, kw),) = fake.made[0].calls
    assert (method, path) == ("POST", "/kapacitor/v1/plugins")
    assert kw["json"] == {
        "name": "p",
        "from": "cpu",
        "script": "alert(value, >, 1)\n",
        "where": "",
        "db": "",
        "rp": "",
        "group_by": ["host", "dc"],
        "webhook": "",
        "expire": "",
        "max_instances": 0,
        "query": "",
        "every": "",
        "cron": "",
        "period": "",
        "offset": "",
        "cluster": "",
    }
