from __future__ import annotations

from pathlib import Path

from kapacitor.testing.daemon import Daemon


def test_routing_and_nats_url_are_read_from_the_log(tmp_path: Path) -> None:
    d = Daemon(tmp_path)
    d.log_path = tmp_path / "kapacitord.log"
    assert d.routed_plugins() is None
    d.log_path.write_text(
        "embedded nats-server at nats://127.0.0.1:4001 (store x)\n"
        "matcher: routing to 0 enabled plugin(s)\n"
    )
    mark = d.log_mark()
    assert (d.routed_plugins(), d.routed_plugins(since=mark)) == (0, None)
    with d.log_path.open("a") as f:
        f.write("matcher: routing to 2 enabled plugin(s)\n")
        f.write("embedded nats-server at nats://127.0.0.1:4002 (store x)\n")
    assert d.routed_plugins(since=mark) == 2
    assert d.nats_url() == "nats://127.0.0.1:4002"  # the last start: its port may change
    d.env["KAPACITOR_NATS_URL"] = "nats://elsewhere:4222"
    assert d.nats_url() == "nats://elsewhere:4222"
