"""kapacitord next to a real InfluxDB 1.x: the subscriptions it keeps (created at start and on
each sync for databases created later, removed when disabled, others never touched), points
written to InfluxDB reaching a plugin over http and over udp, and `[[udp]]` listeners with
their counters."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kapacitor.testing.daemon import Daemon, wait_until
from kapacitor.testing.influx import InfluxServer
from kapacitor.testing.ports import free_port

T0 = 1_700_000_000_000_000_000
S = 1_000_000_000
SCRIPT = 'alert(value, >, 90, id="{host}")\n'
OTHER = "other"  # a subscription somebody else made


@pytest.fixture
def influx(tmp_path: Path) -> Iterator[InfluxServer]:
    server = InfluxServer(tmp_path / "influx").start()
    try:
        server.query("CREATE DATABASE telegraf")
        server.query(
            f"CREATE SUBSCRIPTION {OTHER} ON telegraf.autogen DESTINATIONS ALL 'http://192.0.2.1:1'"
        )
        yield server
    finally:
        server.stop()


def subscriptions(influx: InfluxServer) -> dict[tuple[str, str, str], list[str]]:
    """(db, rp, name) -> destinations of every subscription of the InfluxDB."""
    out = {}
    doc: Any = influx.query("SHOW SUBSCRIPTIONS")
    for series in doc["results"][0].get("series") or []:
        for rp, name, _mode, dests in series["values"]:
            out[(series["name"], rp, name)] = dests
    return out


def ours(influx: InfluxServer) -> dict[tuple[str, str], list[str]]:
    return {
        (db, rp): dests
        for (db, rp, name), dests in subscriptions(influx).items()
        if name.startswith("kapacitor-")
    }


def define(d: Daemon, tmp_path: Path, measurement: str) -> None:
    script = tmp_path / f"{measurement}.kap"
    script.write_text(SCRIPT)
    assert d.cli("define", measurement, "--from", measurement, "--script", str(script)).code == 0
    assert d.cli("enable", measurement).code == 0
    d.wait_plugins_live()


def fired(d: Daemon, measurement: str) -> list[str]:
    return [e["id"] for e in d.alerts_log() if e.get("plugin") == measurement]


def cluster_env(influx: InfluxServer, **extra: str) -> dict[str, str]:
    env = {
        "KAPACITOR_INFLUXDB_0_URLS_0": influx.url,
        "KAPACITOR_INFLUXDB_0_SUBSCRIPTIONS_SYNC_INTERVAL": "1s",
    }
    env.update({f"KAPACITOR_INFLUXDB_0_{k.upper()}": v for k, v in extra.items()})
    return env


def test_subscriptions_are_kept_and_removed_and_points_arrive_over_http(
    influx: InfluxServer, daemon: Daemon, tmp_path: Path
) -> None:
    daemon.env.update(cluster_env(influx))
    daemon.start()
    wait_until(lambda: ("telegraf", "autogen") in ours(influx), what="our subscription")
    name = next(n for (_, _, n) in subscriptions(influx) if n.startswith("kapacitor-"))
    assert ours(influx)[("telegraf", "autogen")] == [f"http://localhost:{daemon.port}"]
    # _kapacitor is excluded by default, as Kapacitor does
    influx.query("CREATE DATABASE _kapacitor")
    influx.query("CREATE DATABASE later")
    influx.query('CREATE RETENTION POLICY "weekly" ON later DURATION 7d REPLICATION 1')
    wait_until(lambda: ("later", "weekly") in ours(influx), what="subscriptions of a later db")
    assert set(ours(influx)) == {("telegraf", "autogen"), ("later", "autogen"), ("later", "weekly")}

    define(daemon, tmp_path, "cpu")
    influx.write("telegraf", f"cpu,host=a value=95 {T0}\ncpu,host=b value=5 {T0}\n")
    influx.write("later", f"cpu,host=c value=99 {T0}\n")
    wait_until(lambda: sorted(fired(daemon, "cpu")) == ["a", "c"], what="alerts from InfluxDB")

    status = daemon.cli("inputs", "--json").json()["subscriptions"]
    assert [(s["cluster"], s["name"], s["failures"]) for s in status] == [("default", name, 0)]
    assert "later.weekly" in status[0]["subscribed"]

    # A subscription of ours that somebody changed is put right at the next sync.
    influx.query(f'DROP SUBSCRIPTION "{name}" ON telegraf.autogen')
    influx.query(
        f"CREATE SUBSCRIPTION \"{name}\" ON telegraf.autogen DESTINATIONS ANY 'http://x:1'"
    )
    wait_until(
        lambda: ours(influx).get(("telegraf", "autogen")) == [f"http://localhost:{daemon.port}"],
        what="the changed subscription re-created",
    )
    assert daemon.stop() == 0
    assert set(ours(influx)) == {("telegraf", "autogen"), ("later", "autogen"), ("later", "weekly")}

    # Cleaning up: a kapacitord with disable-subscriptions removes ours and nothing else.
    daemon.env.update(cluster_env(influx, disable_subscriptions="true"))
    daemon.start()
    wait_until(lambda: not ours(influx), what="our subscriptions removed")
    assert ("telegraf", "autogen", OTHER) in subscriptions(influx)


def test_udp_subscriptions_and_udp_listeners(
    influx: InfluxServer, daemon: Daemon, tmp_path: Path
) -> None:
    port = free_port()
    daemon.env.update(cluster_env(influx, subscription_protocol="udp", udp_bind="127.0.0.1"))
    daemon.env.update(
        {
            "KAPACITOR_UDP_0_BIND_ADDRESS": f"127.0.0.1:{port}",
            "KAPACITOR_UDP_0_DATABASE": "udpdb",
            "KAPACITOR_UDP_0_BUFFER": "1",
        }
    )
    daemon.start()
    wait_until(lambda: ("telegraf", "autogen") in ours(influx), what="our udp subscription")
    (dest,) = ours(influx)[("telegraf", "autogen")]
    assert dest.startswith("udp://localhost:")

    define(daemon, tmp_path, "cpu")
    influx.write("telegraf", f"cpu,host=u value=95 {T0}\n")
    wait_until(lambda: fired(daemon, "cpu") == ["u"], what="an alert from InfluxDB over udp")

    # [[udp]]: a plugin fires from a datagram; a burst beyond its buffer of 1 drops, counted.
    define(daemon, tmp_path, "udpm")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(f"udpm,host=x value=99 {T0}".encode(), ("127.0.0.1", port))
        wait_until(lambda: fired(daemon, "udpm") == ["x"], what="an alert from a datagram")
        for i in range(3000):
            sock.sendto(f"udpm,host=y value=1 {T0 + i * S}".encode(), ("127.0.0.1", port))
    time.sleep(1)

    def listener() -> dict[str, Any]:
        doc: Any = daemon.cli("inputs", "--json").json()
        return next(u for u in doc["udp"] if u["listener"] == f"127.0.0.1:{port}")

    def settled() -> dict[str, Any] | None:
        u = listener()
        return u if u["received"] == u["points"] + u["dropped"] and u["dropped"] else None

    u = wait_until(settled, what="the burst counted")
    assert u["db"] == "udpdb" and u["cluster"] == "" and u["points"] >= 2
    text = daemon.cli("inputs").stdout
    assert f"127.0.0.1:{port}" in text and "udp://" not in text
    metrics = daemon.get("/metrics").text
    assert (
        f'kapacitor_udp_datagrams_dropped_total{{cluster="",host="localhost",listener="127.0.0.1:{port}"}}'
        in metrics
    )
