"""`kapacitor alerts` (the alerts not OK now, and --history) and silences, through a real
kapacitord driven by the CLI: a silenced event is in the history but reaches no handler, a
silence survives kapacitord killed -9 the moment it was created, and an expired silence lets
events through again."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import httpx

from kapacitor.testing.daemon import Daemon, wait_until
from kapacitor.testing.receivers import WebhookReceiver

T0 = 1_700_000_000_000_000_000
S = 1_000_000_000
RAISE = [50.0] * 10 + [10.0] * 15  # CRITICAL at 15, and it stays
RECOVER = [80.0] * 10  # back to OK on the 8th
SCRIPT = 'alert(avg(window(value, 10)), <, 30, topic="cpu", id="{host}/idle")\n'


def lines(host: str, values: list[float], start: int = 0) -> str:
    return "".join(
        f"cpu_idle,host={host} value={v} {T0 + (start + i) * S}\n" for i, v in enumerate(values)
    )


def raised(d: Daemon) -> list[dict[str, Any]]:
    doc = d.cli("alerts", "--json").json()
    assert doc["interpreters"] == {"answered": 1, "running": 1}
    alerts: list[dict[str, Any]] = doc["alerts"]
    return alerts


def history(d: Daemon, *args: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = d.cli("alerts", "--history", "--json", *args).json()["events"]
    return events


def test_current_alerts_history_and_silences(daemon: Daemon, tmp_path: Path) -> None:
    daemon.env["KAPACITOR_INTERPRETER_STATS_INTERVAL"] = "200ms"
    daemon.start()
    assert daemon.cli("alerts").stdout == "(no alert is raised)\n"
    with WebhookReceiver() as hook:
        handler = tmp_path / "h.yaml"
        handler.write_text(f"id: hook\ntopic: cpu\nkind: post\noptions: {{url: '{hook.url}'}}\n")
        assert daemon.cli("define-topic-handler", str(handler)).code == 0
        script = tmp_path / "cpu.kap"
        script.write_text(SCRIPT)
        assert (
            daemon.cli("define", "cpu_idle", "--from", "cpu_idle", "--script", str(script)).code
            == 0
        )
        assert daemon.cli("enable", "cpu_idle").code == 0
        daemon.wait_plugins_live()

        assert daemon.write(lines("a", RAISE)).status_code == 204
        wait_until(lambda: raised(daemon), what="host a's alert raised")
        assert raised(daemon) == [
            {
                "id": "a/idle",
                "plugin": "cpu_idle",
                "instance": "cpu_idle,host=a",
                "tags": {"host": "a"},
                "level": "CRITICAL",
                "since": T0 + 15 * S,
                "topic": "cpu",
                "category": "",
            }
        ]
        table = daemon.cli("alerts").stdout.splitlines()
        assert table[0].split() == ["LEVEL", "SINCE", "PLUGIN", "TOPIC", "ID"]
        assert table[1].split() == ["CRITICAL", "2023-11-14T22:13:35Z", "cpu_idle", "cpu", "a/idle"]
        wait_until(lambda: len(hook.bodies) == 1, what="host a's event posted")

        r = daemon.cli(
            "silence", "create", "--match", "host = 'b'", "--for", "1h", "--comment", "disk swap"
        )
        assert r.code == 0, r.stderr
        silence_id = r.stdout.split()[1]
        # An answer is a promise: the silence outlives kapacitord killed the next instant.
        daemon.kill_hard()
        daemon.start()
        daemon.wait_plugins_live()
        [silence] = daemon.cli("silence", "list", "--json").json()["silences"]
        assert (silence["id"], silence["active"], silence["comment"]) == (
            silence_id,
            True,
            "disk swap",
        )
        assert [a["id"] for a in raised(daemon)] == ["a/idle"]  # alert state survived too

        assert daemon.write(lines("b", RAISE)).status_code == 204

        def silenced() -> list[dict[str, Any]]:
            return [e for e in history(daemon, "--plugin", "cpu_idle") if e["tags"]["host"] == "b"]

        [event] = wait_until(silenced, what="host b's event in the history")
        assert (event["level"], event["suppressed"]) == ("CRITICAL", f"silenced:{silence_id}")
        assert [a["id"] for a in raised(daemon)] == ["a/idle", "b/idle"]

        def suppressed() -> int | None:
            stats = daemon.cli("show-topic-handler", "cpu", "hook", "--json").json()["stats"]
            return stats["suppressed"] or None

        assert wait_until(suppressed, what="the handler counting the silenced event") == 1
        assert [b["tags"]["host"] for b in hook.bodies] == ["a"]

        r = daemon.cli("silence", "expire", silence_id)
        assert r.code == 0 and r.stdout.startswith(f"silence {silence_id} ended "), r.stderr
        assert daemon.cli("silence", "list", "--json").json() == {"silences": []}
        [ended] = daemon.cli("silence", "list", "--all", "--json").json()["silences"]
        assert ended["active"] is False
        assert daemon.write(lines("b", RECOVER, start=len(RAISE))).status_code == 204
        wait_until(lambda: len(hook.bodies) == 2, what="host b's recovery posted")
        assert (hook.bodies[1]["tags"], hook.bodies[1]["level"]) == ({"host": "b"}, "OK")
        assert [a["id"] for a in raised(daemon)] == ["a/idle"]

    newest_first = history(daemon)
    assert [(e["tags"]["host"], e["level"]) for e in newest_first] == [
        ("b", "OK"),
        ("b", "CRITICAL"),
        ("a", "CRITICAL"),
    ]
    assert [e["level"] for e in history(daemon, "--level", "critical", "--limit", "1")] == [
        "CRITICAL"
    ]
    assert history(daemon, "--topic", "mem") == []
    assert len(history(daemon, "--topic", "cpu", "--since", "1h")) == 3
    lines_out = daemon.cli("alerts", "--history").stdout.splitlines()
    assert lines_out[0].split() == ["TIME", "LEVEL", "PLUGIN", "TOPIC", "ID", "MESSAGE"]
    assert lines_out[2].endswith(f"[silenced:{silence_id}]")


def test_bad_alert_and_silence_requests_say_what_is_wrong(daemon: Daemon) -> None:
    daemon.start()
    for args, code, message in [
        (("silence", "create", "--match", "host = ", "--for", "1h"), 1, "silence match:"),
        (("silence", "create", "--match", "host = 'a'", "--for", "soon"), 1, "invalid duration"),
        (("silence", "create", "--match", "host = 'a'", "--for", "0s"), 1, "above 0"),
        (("silence", "create", "--match", " ", "--for", "1h"), 1, "a silence needs a match"),
        (("silence", "expire", "nope"), 1, "no silence 'nope'"),
        (("alerts", "--level", "loud"), 1, "unknown level 'loud'"),
        (("alerts", "--history", "--since", "yesterday"), 1, "since: invalid duration"),
        (("alerts", "--since", "1h"), 2, "--since reads the history"),
    ]:
        r = daemon.cli(*args)
        assert r.code == code and message in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr
    assert daemon.get("/kapacitor/v1/alerts/history", level="loud").status_code == 400
    bad = httpx.post(daemon.url + "/kapacitor/v1/alerts/silences", content=b"{")
    assert bad.status_code == 400 and "not JSON" in bad.json()["error"]
    extra = httpx.post(
        daemon.url + "/kapacitor/v1/alerts/silences",
        json={"match": "host = 'a'", "for": "1h", "until": "never"},
    )
    assert extra.status_code == 400 and "until" in extra.json()["error"]


def test_a_raised_alert_inhibits_a_category_in_another_plugin(
    daemon: Daemon, tmp_path: Path
) -> None:
    """A host that is down (plugin `up`, inhibit="system" by host) holds back the CPU alerts
    (plugin `cpu`, category "system") of that host only: recorded, sent to no handler."""
    daemon.start()
    with WebhookReceiver() as hook:
        for name, script in [
            ("up", 'alert(value, ==, 0, inhibit="system", inhibit_tags="host")\n'),
            ("cpu", 'alert(value, <, 30, category="system", topic="cpu")\n'),
        ]:
            f = tmp_path / f"{name}.kap"
            f.write_text(script)
            r = daemon.cli(
                "define", name, "--from", name, "--script", str(f), "--webhook", hook.url
            )
            assert r.code == 0, r.stderr
            assert daemon.cli("enable", name).code == 0
        daemon.wait_plugins_live()
        assert daemon.write(f"up,host=a value=0 {T0}\n").status_code == 204
        wait_until(lambda: [a["plugin"] for a in raised(daemon)] == ["up"], what="host a down")

        # The inhibitor reaches the interpreters within about a second: raise a new series of
        # host a until one is held back.
        series = itertools.count(1)

        def held_back() -> dict[str, Any] | None:
            n = next(series)
            daemon.write(f"cpu,host=a,n={n} value=10 {T0 + n * S}\n")
            for e in history(daemon, "--plugin", "cpu"):
                if e["suppressed"] == "inhibited:system":
                    return e
            return None

        event = wait_until(held_back, what="a CPU event of host a inhibited")
        assert event is not None
        assert (event["tags"]["host"], event["category"]) == ("a", "system")
        assert daemon.write(f"cpu,host=b value=10 {T0}\n").status_code == 204

        def host_b_sent() -> bool:
            return any(b["tags"].get("host") == "b" and b["plugin"] == "cpu" for b in hook.bodies)

        wait_until(host_b_sent, what="host b's CPU alert sent: b is not down")
        assert not any(b.get("suppressed") == "inhibited:system" for b in hook.bodies), (
            "an inhibited event was posted"
        )
        # host a is up again: its CPU alerts are sent once more
        assert daemon.write(f"up,host=a value=1 {T0 + S}\n").status_code == 204
        wait_until(lambda: [a["plugin"] for a in raised(daemon)].count("up") == 0, what="a up")

        def sent_again() -> bool:
            n = next(series)
            daemon.write(f"cpu,host=a,m={n} value=10 {T0 + n * S}\n")
            return any(
                b["plugin"] == "cpu" and b["tags"].get("host") == "a" and not b.get("suppressed")
                for b in hook.bodies
            )

        wait_until(sent_again, what="host a's CPU alerts sent again")
