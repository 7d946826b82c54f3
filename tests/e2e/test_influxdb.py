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

from kapacitor.testing.cluster import Cluster
from kapacitor.testing.daemon import Daemon, wait_until
from kapacitor.testing.influx import ADMIN, CountingProxy, InfluxServer
from kapacitor.testing.nats import Subscriber
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

    # What InfluxDB's subscriber forwards in one write: one field, four types, four
    # measurements; InfluxDB keeps them all, and so does this.
    r = daemon.cli("start-recording", "--db", "telegraf")
    rec_id = r.stdout.strip().removeprefix("RecordingID=")
    influx.write(
        "telegraf",
        'conf_a value=1i 1\nconf_b value=2.5 2\nconf_c value="s" 3\nconf_d value=true 4\n',
    )

    def recorded() -> int:
        return int(daemon.cli("show-recording", rec_id, "--json").json()["points"])

    wait_until(lambda: recorded() == 4, what="the four measurements forwarded")
    assert daemon.cli("stop-recording", rec_id).code == 0

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
    everything = {("telegraf", "autogen"), ("later", "autogen"), ("later", "weekly")}
    assert set(ours(influx)) == everything  # a plain stop keeps them, as Kapacitor does

    # Stopping with cleanup removes ours and nothing else.
    daemon.env.update(cluster_env(influx, unsubscribe_on_stop="true"))
    daemon.start()
    wait_until(lambda: daemon.cli("inputs", "--json").json()["subscriptions"], what="a sync")
    assert daemon.stop() == 0
    assert not ours(influx)
    assert ("telegraf", "autogen", OTHER) in subscriptions(influx)

    # So does a kapacitord started with disable-subscriptions.
    daemon.env.update(cluster_env(influx))
    daemon.start()
    wait_until(lambda: set(ours(influx)) == everything, what="ours made again")
    daemon.stop()
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


IDLE_QUERY = "SELECT mean(usage_idle) AS idle FROM cpu GROUP BY host"
IDLE_SCRIPT = 'alert(idle, <, 30, id="{host}")\n'


def write_idle(influx: InfluxServer, step_s: int = 1) -> None:
    """60 steps back from now of cpu usage_idle: host a busy (20), host b idle (80)."""
    now = time.time_ns()
    influx.write(
        "telegraf",
        "".join(
            f"cpu,host={h},cpu=cpu-total usage_idle={v} {now - i * step_s * S}\n"
            for h, v in (("a", 20.0), ("b", 80.0))
            for i in range(60)
        ),
    )


def define_scheduled(d: Daemon, tmp_path: Path, name: str, *options: str) -> Any:
    script = tmp_path / f"{name}.kap"
    script.write_text(IDLE_SCRIPT)
    r = d.cli("define", name, "--script", str(script), "--db", "telegraf", *options)
    assert r.code == 0, r.stderr
    assert d.cli("enable", name).code == 0
    return r


def test_scheduled_plugin_alerts_and_each_tick_queries_once_with_two_interpreters(
    influx: InfluxServer, nats_url: str, tmp_path: Path
) -> None:
    write_idle(influx)
    with CountingProxy(influx.url) as proxy:
        env = {
            "KAPACITOR_INFLUXDB_0_URLS_0": proxy.url,
            "KAPACITOR_INFLUXDB_0_DISABLE_SUBSCRIPTIONS": "true",
        }
        cluster = Cluster(tmp_path / "k", nats_url, env=env).start(2)
        try:
            front = cluster.front
            define_scheduled(
                front, tmp_path, "idle", "--query", IDLE_QUERY, "--every", "1s", "--period", "5m"
            )

            def alerted() -> list[str]:
                return [e["id"] for e in cluster.notifier().alerts_log() if e["plugin"] == "idle"]

            assert wait_until(alerted, what="the scheduled alert") == ["a"]
            owners = cluster.lease_owners()
            assert len(set(owners.values())) == 2, owners  # both interpreters own partitions

            def show() -> Any:
                return front.cli("show", "idle", "--json").json()

            wait_until(lambda: show()["queries"] >= 5, what="five ticks")
            time.sleep(0.5)
            asked = proxy.selects()
            # one query per tick: each tick's range is its own, and none was asked twice
            assert len(asked) == len(set(asked)) >= 5, asked
            assert all("GROUP BY host" in q and "time >= " in q for q in asked)
            doc = show()
            assert doc["query_errors"] == 0 and doc["points_processed"] >= 2 * 5
            text = front.cli("show", "idle").stdout
            assert "Schedule:         every 1s, period 5m" in text
        finally:
            cluster.stop()


def test_scheduled_plugin_failures_are_shown_and_retried(
    influx: InfluxServer, daemon: Daemon, tmp_path: Path
) -> None:
    write_idle(influx)
    down = f"http://127.0.0.1:{free_port()}"
    daemon.env.update(
        {
            "KAPACITOR_INFLUXDB_0_NAME": "up",
            "KAPACITOR_INFLUXDB_0_DEFAULT": "true",
            "KAPACITOR_INFLUXDB_0_URLS_0": influx.url,
            "KAPACITOR_INFLUXDB_0_DISABLE_SUBSCRIPTIONS": "true",
            "KAPACITOR_INFLUXDB_1_NAME": "down",
            "KAPACITOR_INFLUXDB_1_URLS_0": down,
            "KAPACITOR_INFLUXDB_1_DISABLE_SUBSCRIPTIONS": "true",
        }
    )
    daemon.start()
    every = ("--every", "1s", "--period", "5m")
    define_scheduled(
        daemon, tmp_path, "unreachable", "--query", IDLE_QUERY, "--cluster", "down", *every
    )
    bad = "SELECT mean(usage_idle) AS idle FROM cpu GROUP BY host, nosuchfn("
    define_scheduled(daemon, tmp_path, "rejected", "--query", bad, *every)

    def shown(name: str) -> Any:
        doc = daemon.cli("show", name, "--json").json()
        return doc if doc["query_errors"] >= 2 else None

    doc = wait_until(lambda: shown("unreachable"), what="failed ticks counted")
    assert f"cannot reach {down}" in doc["last_error"] and "influxdb 'down'" in doc["last_error"]
    doc = wait_until(lambda: shown("rejected"), what="rejected queries counted")
    assert "rejected" in doc["last_error"]
    # defining against an InfluxDB that is not configured is refused
    r = daemon.cli(
        "define",
        "x",
        "--query",
        IDLE_QUERY,
        "--db",
        "t",
        "--every",
        "1m",
        "--cluster",
        "nope",
        "--script",
        str(tmp_path / "unreachable.kap"),
    )
    assert r.code == 1 and "no InfluxDB named 'nope'" in r.stderr
    r = daemon.cli(
        "define",
        "y",
        "--query",
        "SELECT v FROM m WHERE time > now() - 1h",
        "--db",
        "t",
        "--every",
        "1m",
        "--script",
        str(tmp_path / "unreachable.kap"),
    )
    assert r.code == 1 and "must not have a time condition" in r.stderr
    # the daemon kept running the stream side through it all
    define(daemon, tmp_path, "cpu")
    assert daemon.write(f"cpu,host=s value=99 {T0}").status_code == 204
    wait_until(lambda: fired(daemon, "cpu") == ["s"], what="a stream alert")


def test_record_a_scheduled_plugins_past_ticks_and_replay_them(
    influx: InfluxServer, daemon: Daemon, tmp_path: Path
) -> None:
    write_idle(influx, step_s=60)  # the last hour, a point a minute
    daemon.env.update(
        {
            "KAPACITOR_INFLUXDB_0_URLS_0": influx.url,
            "KAPACITOR_INFLUXDB_0_DISABLE_SUBSCRIPTIONS": "true",
        }
    )
    daemon.start()
    script = tmp_path / "idle.kap"
    script.write_text(IDLE_SCRIPT)
    r = daemon.cli(
        "define", "idle", "--script", str(script), "--db", "telegraf",
        "--query", IDLE_QUERY, "--every", "10m",
    )  # fmt: skip
    assert r.code == 0, r.stderr  # not enabled: recorded and replayed only
    r = daemon.cli("record", "--plugin", "idle", "--past", "1h")
    assert r.code == 0, r.stderr
    rec_id = r.stdout.strip().removeprefix("RecordingID=")
    info = daemon.cli("show-recording", rec_id, "--json").json()
    assert info["kind"] == "plugin" and info["status"] == "finished"
    assert 10 <= info["points"] <= 14  # two hosts, six or seven ticks of the hour
    report = daemon.cli("replay", rec_id, "idle", "--json").json()
    assert report["points_matched"] == info["points"]
    assert {e["id"] for e in report["alerts"]} == {"a"} and report["levels"]["CRITICAL"] == 1

    r = daemon.cli("record", "--plugin", "idle")
    assert r.code == 2 and "needs --past" in r.stderr
    define(daemon, tmp_path, "cpu")
    r = daemon.cli("record", "--plugin", "cpu", "--past", "1h")
    assert r.code == 1 and "reads the stream" in r.stderr


ROLLUP = """
let a = avg(window(value, 2))
influxdb_out(a, db="rollups", measurement="cpu_avg", field="avg", tags=["source=kapacitor"])
influxdb_out(a, db="missing", measurement="cpu_avg")
http_out(a, "avg", field="avg")
http_out(value, "avg", field="last")
publish(a, "metrics.cpu_avg", measurement="cpu_avg")
loopback(a, db="telegraf", measurement="cpu_avg")
"""


def test_outputs_write_to_influxdb_serve_publish_and_loop_back(
    influx: InfluxServer, daemon: Daemon, tmp_path: Path
) -> None:
    influx.query("CREATE DATABASE rollups")
    daemon.env.update(
        {
            "KAPACITOR_INFLUXDB_0_URLS_0": influx.url,
            "KAPACITOR_INFLUXDB_0_DISABLE_SUBSCRIPTIONS": "true",
        }
    )
    daemon.start()
    script = tmp_path / "rollup.kap"
    script.write_text(ROLLUP)
    r = daemon.cli("define", "rollup", "--from", "cpu", "--script", str(script))
    assert r.code == 0, r.stderr
    define(daemon, tmp_path, "cpu_avg")  # alerts when the looped-back average is over 90
    assert daemon.cli("enable", "rollup").code == 0
    daemon.wait_plugins_live()
    with Subscriber(daemon.nats_url(), "metrics.>") as sub:
        body = "".join(
            f"cpu,host={h} value={v} {T0 + i * S}\n"
            for h, values in (("a", (40, 80, 100)), ("b", (10, 20)))
            for i, v in enumerate(values)
        )
        assert daemon.write(body).status_code == 204

        def written() -> Any:
            doc: Any = influx.query("SELECT avg, host, source FROM cpu_avg", db="rollups")
            series = doc["results"][0].get("series") or []
            return sorted(tuple(v[1:]) for v in series[0]["values"]) if series else None

        expected = [(15.0, "b", "kapacitor"), (60.0, "a", "kapacitor"), (90.0, "a", "kapacitor")]
        wait_until(lambda: len(written() or ()) >= 3, what="rollups")
        assert written() == expected

        def lines() -> list[str]:
            return b"".join(sub.messages).decode().splitlines()

        wait_until(lambda: len(lines()) >= 3, what="published lines")
        assert sorted(lines()) == sorted(
            [
                f"cpu_avg,host=a value=60.0 {T0 + S}",
                f"cpu_avg,host=a value=90.0 {T0 + 2 * S}",
                f"cpu_avg,host=b value=15.0 {T0 + S}",
            ]
        )
    # the looped-back averages reach the plugin reading cpu_avg: 90 is not over 90, 60 neither
    served = wait_until(
        lambda: daemon.get("/kapacitor/v1/plugins/rollup/avg").json()["series"],
        what="http_out",
    )
    assert served == [
        {
            "name": "cpu",
            "tags": {"host": "a"},
            "columns": ["time", "avg", "last"],
            "values": [["2023-11-14T22:13:22Z", 90.0, 100.0]],
        },
        {
            "name": "cpu",
            "tags": {"host": "b"},
            "columns": ["time", "avg", "last"],
            "values": [["2023-11-14T22:13:21Z", 15.0, 20.0]],
        },
    ]
    assert daemon.get("/kapacitor/v1/plugins/rollup/nope").status_code == 404

    def counted() -> Any:
        doc: Any = daemon.cli("show", "rollup", "--json").json()
        return doc if doc["output_dropped"] == 3 else None

    doc = wait_until(counted, what="the missing database's points dropped")
    assert doc["output_points"] == 9  # influxdb_out, publish and loopback: three each
    assert "database not found" in doc["last_error"]
    assert "Outputs:          9 points sent, 3 dropped" in daemon.cli("show", "rollup").stdout
    assert wait_until(
        lambda: daemon.cli("show", "cpu_avg", "--json").json()["points_processed"] == 3,
        what="the looped-back points processed",
    )
    r = daemon.cli("define", "selfish", "--from", "cpu_avg", "--script", str(script))
    assert r.code == 1 and "it would feed itself" in r.stderr
    bad = tmp_path / "bad.kap"
    bad.write_text('influxdb_out(value, db="x", cluster="nope")\n')
    r = daemon.cli("define", "bad", "--from", "cpu", "--script", str(bad))
    assert r.code == 1 and "influxdb_out(): no InfluxDB named 'nope'" in r.stderr


def test_credentials_slowness_and_a_restart(daemon: Daemon, tmp_path: Path) -> None:
    """Against an InfluxDB that requires credentials: the right ones query (and keep the
    subscriptions), wrong ones are the plugin's last error; a slow InfluxDB never gets two
    queries of a plugin at once (the ticks passed meanwhile are skipped, counted), one slower
    than the timeout is an error; ticks missed while kapacitord was down are caught up once."""
    influx = InfluxServer(tmp_path / "influx", auth=True).start()
    try:
        influx.query("CREATE DATABASE telegraf")
        write_idle(influx)
        user, password = ADMIN
        with (
            CountingProxy(influx.url, delay=2.5) as slow,
            CountingProxy(influx.url, delay=2.5) as slower,
        ):
            clusters = [
                ("good", influx.url, password, "30s"),
                ("wrong", influx.url, "nope", "30s"),
                ("slow", slow.url, password, "30s"),
                ("slower", slower.url, password, "1s"),
            ]
            for i, (name, url, pw, timeout) in enumerate(clusters):
                daemon.env.update(
                    {
                        f"KAPACITOR_INFLUXDB_{i}_NAME": name,
                        f"KAPACITOR_INFLUXDB_{i}_URLS_0": url,
                        f"KAPACITOR_INFLUXDB_{i}_USERNAME": user,
                        f"KAPACITOR_INFLUXDB_{i}_PASSWORD": pw,
                        f"KAPACITOR_INFLUXDB_{i}_TIMEOUT": timeout,
                        f"KAPACITOR_INFLUXDB_{i}_DISABLE_SUBSCRIPTIONS": str(i > 0).lower(),
                        f"KAPACITOR_INFLUXDB_{i}_DEFAULT": str(i == 0).lower(),
                        f"KAPACITOR_INFLUXDB_{i}_SUBSCRIPTIONS_SYNC_INTERVAL": "1s",
                    }
                )
            daemon.start()
            every = ("--query", IDLE_QUERY, "--every", "1s", "--period", "5m")
            for name, *_ in clusters:
                define_scheduled(daemon, tmp_path, name, *every, "--cluster", name)

            def show(name: str) -> Any:
                doc: Any = daemon.cli("show", name, "--json").json()
                return doc

            wait_until(lambda: ("telegraf", "autogen") in ours(influx), what="a subscription")
            assert wait_until(lambda: fired(daemon, "good"), what="an alert") == ["a"]
            doc = wait_until(lambda: show("wrong")["query_errors"] >= 2 and show("wrong"))
            assert "refused the credentials" in doc["last_error"]
            doc = wait_until(lambda: show("slower")["query_errors"] >= 1 and show("slower"))
            assert "did not answer in 1s" in doc["last_error"]
            doc = wait_until(lambda: show("slow")["queries"] >= 3 and show("slow"))
            assert doc["ticks_skipped"] >= 2 and doc["query_errors"] == 0
            assert slow.most_in_flight == 1  # never two queries of the plugin at once
            assert fired(daemon, "slow") == ["a"]

            # Down for a while: the latest tick due runs once at the start, the rest skipped.
            before = show("good")
            assert daemon.stop() == 0
            time.sleep(4)
            daemon.start()
            after = wait_until(
                lambda: show("good")["queries"] > before["queries"] and show("good"),
                what="the first tick after the restart",
            )
            assert after["ticks_skipped"] - before["ticks_skipped"] >= 3
    finally:
        influx.stop()


def test_https_to_influxdb_verifies_its_certificate(daemon: Daemon, tmp_path: Path) -> None:
    influx = InfluxServer(tmp_path / "influx", tls=True).start()
    try:
        influx.query("CREATE DATABASE telegraf")
        write_idle(influx)
        for i, (name, extra) in enumerate(
            [
                ("trusted", {"SSL_CA": str(influx.cert)}),
                ("untrusted", {}),
                ("skipped", {"INSECURE_SKIP_VERIFY": "true"}),
            ]
        ):
            daemon.env.update(
                {
                    f"KAPACITOR_INFLUXDB_{i}_NAME": name,
                    f"KAPACITOR_INFLUXDB_{i}_URLS_0": influx.url,
                    f"KAPACITOR_INFLUXDB_{i}_DISABLE_SUBSCRIPTIONS": "true",
                    f"KAPACITOR_INFLUXDB_{i}_DEFAULT": str(i == 0).lower(),
                    **{f"KAPACITOR_INFLUXDB_{i}_{k}": v for k, v in extra.items()},
                }
            )
        daemon.start()
        every = ("--query", IDLE_QUERY, "--every", "1s", "--period", "5m")
        for name in ("trusted", "untrusted", "skipped"):
            define_scheduled(daemon, tmp_path, name, *every, "--cluster", name)
        assert wait_until(lambda: fired(daemon, "trusted"), what="an alert over https") == ["a"]
        assert wait_until(lambda: fired(daemon, "skipped"), what="unverified https") == ["a"]
        doc: Any = wait_until(
            lambda: (d := daemon.cli("show", "untrusted", "--json").json())["query_errors"] and d,
            what="the unverified certificate refused",
        )
        assert "CERTIFICATE_VERIFY_FAILED" in doc["last_error"]
        assert fired(daemon, "untrusted") == []
    finally:
        influx.stop()


def test_with_auth_on_subscriptions_carry_a_write_token(
    influx: InfluxServer, daemon: Daemon, tmp_path: Path
) -> None:
    daemon.env.update(cluster_env(influx))
    daemon.env.update(
        {
            "KAPACITOR_HTTP_AUTH_ENABLED": "true",
            "KAPACITOR_AUTH_ADMIN_USERNAME": "admin",
            "KAPACITOR_AUTH_ADMIN_PASSWORD": "s3cret",
        }
    )
    daemon.start()
    admin = ("--username", "admin", "--password", "s3cret")
    where = f"@localhost:{daemon.port}"
    dest = wait_until(
        lambda: (ours(influx).get(("telegraf", "autogen")) or [""])[0], what="a subscription"
    )
    assert dest.startswith("http://kapacitor:kap_") and dest.endswith(where)
    (token,) = daemon.cli(*admin, "token", "list", "--json").json()["tokens"]
    assert (token["role"], token["description"]) == ("write", "InfluxDB subscriptions")

    script = tmp_path / "cpu.kap"
    script.write_text(SCRIPT)
    assert daemon.cli(*admin, "define", "cpu", "--from", "cpu", "--script", str(script)).code == 0
    assert daemon.cli(*admin, "enable", "cpu").code == 0

    def alerted() -> list[str]:
        influx.write("telegraf", f"cpu,host=a value=95 {T0}\n")  # until the plugin is live
        return fired(daemon, "cpu")

    assert wait_until(alerted, what="an alert through an authenticated subscription") == ["a"]

    # a revoked token is replaced at the next sync, and the subscription with it
    assert daemon.cli(*admin, "token", "revoke", token["id"]).code == 0
    fresh = wait_until(
        lambda: (d := ours(influx).get(("telegraf", "autogen")) or [""])[0] != dest and d[0],
        what="the subscription re-made with a new token",
    )
    assert fresh.startswith("http://kapacitor:kap_") and token["id"] not in fresh
