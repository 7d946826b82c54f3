"""Topics and topic handlers through a real kapacitord driven by the CLI: events of a topic
reach each handler that matches them, exactly as the receivers see them; counters and topic
state are shown; a handler's undelivered events survive its process being killed."""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path

from kapacitor.testing.daemon import Daemon, wait_until
from kapacitor.testing.procs import children, service_of
from kapacitor.testing.receivers import TcpReceiver, WebhookReceiver

T0 = 1_700_000_000_000_000_000
S = 1_000_000_000
VALUES = [50.0] * 10 + [10.0] * 15 + [80.0] * 10  # CRITICAL at 15, OK at 27
SCRIPT = 'alert(avg(window(value, 10)), <, 30, topic="cpu")\n'


def lines(host: str, values: list[float], start: int = 0) -> str:
    return "".join(
        f"cpu_idle,host={host} value={v} {T0 + (start + i) * S}\n" for i, v in enumerate(values)
    )


def define_plugin(d: Daemon, tmp_path: Path) -> None:
    f = tmp_path / "cpu.kap"
    f.write_text(SCRIPT)
    r = d.cli("define", "cpu_idle", "--from", "cpu_idle", "--script", str(f))
    assert r.code == 0, r.stderr
    assert d.cli("enable", "cpu_idle").code == 0


def define_handler(d: Daemon, path: Path, text: str, *args: str) -> str:
    path.write_text(text)
    r = d.cli("define-topic-handler", str(path), *args)
    assert r.code == 0, r.stderr
    return r.stdout


def test_handlers_get_the_events_they_match(daemon: Daemon, tmp_path: Path) -> None:
    daemon.env["KAPACITOR_INTERPRETER_STATS_INTERVAL"] = "200ms"
    daemon.start()
    log = tmp_path / "cpu-alerts.log"
    with WebhookReceiver() as hook, TcpReceiver() as peer:
        out = define_handler(
            daemon,
            tmp_path / "crit.yaml",
            "id: crit\n"
            "topic: cpu\n"
            "kind: post\n"
            "match: level = 'CRITICAL' and host = 'a'\n"
            f"options:\n  url: {hook.url}\n  headers:\n    Authorization: Bearer t0k\n",
        )
        assert out == "defined topic handler cpu/crit (post)\n"
        define_handler(
            daemon,
            tmp_path / "all.json",
            json.dumps({"id": "all", "kind": "tcp", "options": {"address": peer.address}}),
            "--topic",
            "cpu",
        )
        define_handler(
            daemon,
            tmp_path / "log.yaml",
            f"id: file\ntopic: cpu\nkind: log\noptions: {{path: {log}}}\n",
        )
        define_plugin(daemon, tmp_path)
        daemon.wait_plugins_live()
        assert daemon.write(lines("a", VALUES)).status_code == 204

        wait_until(lambda: len(peer.lines) >= 2, what="two events over TCP")
        wait_until(lambda: len(hook.bodies) >= 1, what="the CRITICAL event POSTed")
        events = [json.loads(x) for x in peer.lines]
        assert [(e["level"], e["time_ns"], e["topic"]) for e in events] == [
            ("CRITICAL", T0 + 15 * S, "cpu"),
            ("OK", T0 + 27 * S, "cpu"),
        ]
        assert hook.bodies == [events[0]]
        assert hook.headers[0]["Authorization"] == "Bearer t0k"
        assert hook.event_ids[0]
        wait_until(lambda: log.exists() and len(log.read_text().splitlines()) == 2, what="log")
        assert [json.loads(x) for x in log.read_text().splitlines()] == events

    def counted() -> dict[str, int] | None:
        doc = daemon.cli("show-topic-handler", "cpu", "crit", "--json").json()
        return doc["stats"] if doc.get("stats", {}).get("skipped") == 1 else None

    stats = wait_until(counted, what="the handler's counters")
    assert (stats["sent"], stats["failed"], stats["dropped"]) == (1, 0, 0)
    shown = daemon.cli("show-topic-handler", "cpu", "crit").stdout
    assert "Sent:     1" in shown and "Match:    level = 'CRITICAL' and host = 'a'" in shown

    def topics() -> list[dict[str, object]] | None:
        listed: list[dict[str, object]] = daemon.cli("list", "topics", "--json").json()["topics"]
        return listed if listed and listed[0]["level"] == "OK" else None

    assert wait_until(topics, what="the topic's level back to OK") == [
        {"id": "cpu", "level": "OK", "alerts": 1, "handlers": 3}
    ]
    table = daemon.cli("list", "topic-handlers").stdout.splitlines()
    assert table[0].split() == ["TOPIC", "ID", "KIND", "OWNER", "MATCH"]
    assert [row.split()[:4] for row in table[1:-1]] == [
        ["cpu", "all", "tcp", "-"],
        ["cpu", "crit", "post", "-"],
        ["cpu", "file", "log", "-"],
    ]
    assert table[-1].startswith("OWNER: what defines a handler")
    topic = daemon.cli("show-topic", "cpu")
    assert "Level:    OK" in topic.stdout and "cpu_idle:cpu_idle,host=a" in topic.stdout

    def shown_with_counts() -> str | None:
        text = daemon.cli("show", "cpu_idle").stdout
        return text if "all (tcp): sent 2" in text else None

    shown = wait_until(shown_with_counts, what="the tcp handler's counters in show")
    assert (
        "Topic cpu:\n    all (tcp): sent 2, failed 0, retried 0, dropped 0, skipped 0, "
        "suppressed 0\n" in shown
    )
    assert (
        "    crit (post): sent 1, failed 0, retried 0, dropped 0, skipped 1, suppressed 0\n"
        in shown
    )
    topics = daemon.cli("show", "cpu_idle", "--json").json()["topics"]
    assert [h["id"] for h in topics[0]["handlers"]] == ["all", "crit", "file"]

    listed = daemon.cli("list").stdout.splitlines()
    assert listed[0].split() == ["NAME", "FROM", "ENABLED", "POINTS", "FIRED", "ERRORS"]
    assert listed[1].split()[4] == "1"  # the CRITICAL; the OK that followed is a recovery
    assert listed[2].startswith("FIRED: alert events that raised a level")

    r = daemon.cli("delete-topic-handler", "cpu", "crit")
    assert (r.code, r.stdout) == (0, "deleted topic handler cpu/crit\n")
    r = daemon.cli("show-topic-handler", "cpu", "crit")
    assert r.code == 1 and "no handler 'crit' on topic 'cpu'" in r.stderr


def test_a_bad_handler_file_is_refused_where_it_is_wrong(daemon: Daemon, tmp_path: Path) -> None:
    daemon.start()
    f = tmp_path / "h.yaml"
    f.write_text("id: x\ntopic: cpu\nkind: post\noptions:\n  url: [unclosed\n")
    r = daemon.cli("define-topic-handler", str(f))
    assert r.code == 2 and r.stderr.startswith(f"kapacitor: {f}:6:1:"), r.stderr
    f.write_text("id: x\ntopic: cpu\nkind: post\noptions: {url: 'http://h', retry: 2}\n")
    r = daemon.cli("define-topic-handler", str(f))
    assert r.code == 1 and "unknown field `retry`" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert daemon.cli("list", "topic-handlers", "--json").json() == {"handlers": []}


def test_undelivered_events_outlive_the_process_delivering_them(
    daemon: Daemon, tmp_path: Path
) -> None:
    daemon.start()
    with WebhookReceiver(delay_s=3.0) as hook:
        define_handler(
            daemon,
            tmp_path / "slow.yaml",
            f"id: slow\ntopic: cpu\nkind: post\noptions: {{url: '{hook.url}', timeout: 1s}}\n",
        )
        define_plugin(daemon, tmp_path)
        daemon.wait_plugins_live()
        assert daemon.write(lines("a", VALUES)).status_code == 204
        wait_until(lambda: hook.arrived >= 1, what="the first event on its way")
        assert daemon.proc is not None
        interpreter = next(k for k in children(daemon.proc.pid) if service_of(k) == "interpreter")
        os.kill(interpreter, signal.SIGKILL)
        daemon.wait_log("interpreter exited with code -9")
        hook.delay_s = 0.0

        def both() -> bool:
            return {b["level"] for b in hook.bodies} == {"CRITICAL", "OK"}

        wait_until(both, timeout=60, what="both events delivered after the restart")
        by_level: dict[str, set[str]] = {}
        for body, event_id in zip(hook.bodies, hook.event_ids, strict=True):
            by_level.setdefault(body["level"], set()).add(event_id)
        # a copy sent again carries the same id, for the receiver to drop
        assert all(len(ids) == 1 for ids in by_level.values()), by_level


def test_an_aggregate_handler_sends_one_event_per_interval(daemon: Daemon, tmp_path: Path) -> None:
    daemon.start()
    with WebhookReceiver() as hook:
        define_handler(
            daemon,
            tmp_path / "agg.yaml",
            "id: agg\ntopic: cpu\nkind: aggregate\nmatch: level = 'CRITICAL'\n"
            "options: {interval: 2s, topic: digest}\n",
        )
        define_handler(
            daemon,
            tmp_path / "digest.yaml",
            f"id: post\ntopic: digest\nkind: post\noptions: {{url: '{hook.url}'}}\n",
        )
        define_plugin(daemon, tmp_path)
        daemon.wait_plugins_live()
        body = "".join(lines(h, VALUES[:25]) for h in ("a", "b", "c"))  # three go CRITICAL
        assert daemon.write(body).status_code == 204
        wait_until(lambda: hook.bodies, what="the digest posted")
        [digest] = hook.bodies
        assert (digest["level"], digest["topic"], digest["plugin"]) == (
            "CRITICAL",
            "digest",
            "aggregate",
        )
        assert digest["message"] == "Received 3 events in the last 2s."
        assert sorted(digest["details"].splitlines()) == [
            f"cpu_idle cpu_idle,host={h} is CRITICAL: value 26 < 30" for h in "abc"
        ]


def slow_handler_of_flips(daemon: Daemon, tmp_path: Path, hook: WebhookReceiver) -> None:
    """Handler `slow` of topic cpu POSTs to `hook`; plugin `flip` alerts below 30 to cpu."""
    define_handler(
        daemon,
        tmp_path / "slow.yaml",
        f"id: slow\ntopic: cpu\nkind: post\noptions: {{url: '{hook.url}', timeout: 10s}}\n",
    )
    f = tmp_path / "flip.kap"
    f.write_text('alert(value, <, 30, topic="cpu")\n')
    assert daemon.cli("define", "flip", "--from", "cpu_idle", "--script", str(f)).code == 0
    assert daemon.cli("enable", "flip").code == 0
    daemon.wait_plugins_live()


def write_flips(daemon: Daemon, steps: range) -> None:
    """A CRITICAL and an OK of host a per step, each write stored before the next: a message
    of events each (under load the pipeline would batch writes made back to back into fewer
    messages)."""
    for i in steps:
        assert daemon.write(lines("a", [10.0, 50.0], start=2 * i)).status_code == 204
        want = 2 * (i + 1)
        wait_until(lambda n=want: len(daemon.alerts_log()) >= n, what="events stored")


def test_a_handler_too_far_behind_drops_counts_and_logs(daemon: Daemon, tmp_path: Path) -> None:
    daemon.env["KAPACITOR_ALERT_HANDLER_BACKLOG"] = "2"
    daemon.env["KAPACITOR_INTERPRETER_STATS_INTERVAL"] = "200ms"
    daemon.start()
    # The first event's POST takes 5 s; the others arrive meanwhile, and the handler, more
    # than 2 behind when it fetches them, drops those.
    with WebhookReceiver(delay_s=5.0) as hook:
        slow_handler_of_flips(daemon, tmp_path, hook)
        write_flips(daemon, range(12))

        def dropped() -> dict[str, int] | None:
            stats = daemon.cli("show-topic-handler", "cpu", "slow", "--json").json()["stats"]
            return stats if stats["dropped"] > 0 else None

        stats = wait_until(dropped, timeout=90, what="the slow handler dropping")
        assert stats["sent"] >= 1 and stats["failed"] == 0
        daemon.wait_log("events behind: dropping")


def test_events_the_stream_removed_before_a_handler_read_them_are_an_overrun(
    daemon: Daemon, tmp_path: Path
) -> None:
    """The stream keeps 20 messages; a handler held up by one POST for 4 s while 30 more
    arrive finds them removed: counted as an overrun, logged, in last_error."""
    daemon.env["KAPACITOR_ALERT_KEEP"] = "20"
    daemon.env["KAPACITOR_INTERPRETER_STATS_INTERVAL"] = "200ms"
    daemon.start()
    with WebhookReceiver(delay_s=4.0) as hook:
        slow_handler_of_flips(daemon, tmp_path, hook)
        assert daemon.write(lines("a", [10.0, 50.0])).status_code == 204
        wait_until(lambda: hook.arrived >= 1, what="the first POST")
        write_flips(daemon, range(1, 31))  # while the first POST is held

        def overrun() -> dict[str, object] | None:
            stats = daemon.cli("show-topic-handler", "cpu", "slow", "--json").json()["stats"]
            return stats if stats["overrun"] > 0 else None

        stats = wait_until(overrun, timeout=60, what="the overrun counted")
        assert "while the handler was busy for" in str(stats["last_error"])
        daemon.wait_log("the alert stream removed messages")
        text = daemon.cli("show-topic-handler", "cpu", "slow").stdout
        assert re.search(r"Overrun:  [1-9]\d* \(times the alert stream removed events", text)


def test_handlers_attached_by_the_script_come_and_go_with_it(
    daemon: Daemon, tmp_path: Path
) -> None:
    daemon.env["KAPACITOR_INTERPRETER_STATS_INTERVAL"] = "200ms"
    daemon.start()
    f = tmp_path / "cpu.kap"

    def define(script: str) -> None:
        f.write_text(script)
        r = daemon.cli("define", "cpu_idle", "--from", "cpu_idle", "--script", str(f))
        assert r.code == 0, r.stderr

    def handlers() -> list[tuple[str, str, str, str]]:
        listed = daemon.cli("list", "topic-handlers", "--json").json()["handlers"]
        return [(h["topic"], h["id"], h["kind"], h["plugin"]) for h in listed]

    f.write_text('alert(value, <, 30, notify=handler("slak"))\n')
    r = daemon.cli("define", "cpu_idle", "--from", "cpu_idle", "--script", str(f))
    assert r.code != 0 and f"{f}:1:36: handler(): unknown kind 'slak'" in r.stderr, r.stderr
    with WebhookReceiver() as hook, TcpReceiver() as peer:
        both = (
            "alert(avg(window(value, 10)), <, 30, notify=[\n"
            f'    handler("post", url="{hook.url}", headers=["Authorization: Bearer t0k"],\n'
            "            match=\"level = 'CRITICAL'\"),\n"
            f'    handler("tcp", address="{peer.address}")])\n'
        )
        define(both)
        assert daemon.cli("enable", "cpu_idle").code == 0
        daemon.wait_plugins_live()
        assert daemon.write(lines("a", VALUES)).status_code == 204
        wait_until(lambda: len(peer.lines) >= 2, what="two events over TCP")
        wait_until(lambda: len(hook.bodies) >= 1, what="the CRITICAL event POSTed")
        events = [json.loads(x) for x in peer.lines]
        assert [(e["level"], e["topic"]) for e in events] == [
            ("CRITICAL", "cpu_idle:alert0"),
            ("OK", "cpu_idle:alert0"),
        ]
        assert hook.bodies == [events[0]]
        assert hook.headers[0]["Authorization"] == "Bearer t0k"

    assert handlers() == [
        ("cpu_idle:alert0", "post", "post", "cpu_idle"),
        ("cpu_idle:alert0", "tcp", "tcp", "cpu_idle"),
    ]

    def shown() -> str | None:
        text = daemon.cli("show", "cpu_idle").stdout
        return text if "tcp (tcp): sent 2" in text else None

    text = wait_until(shown, what="the script's handlers' counters in show")
    assert text is not None and "Topic cpu_idle:alert0:\n    post (post): sent 1, failed 0" in text

    r = daemon.cli("delete-topic-handler", "cpu_idle:alert0", "post")
    assert r.code != 0 and "attached by plugin 'cpu_idle'" in r.stderr, r.stderr
    spec = tmp_path / "h.yaml"
    spec.write_text("id: tcp\ntopic: cpu_idle:alert0\nkind: log\noptions: {path: /tmp/x}\n")
    r = daemon.cli("define-topic-handler", str(spec))
    assert r.code != 0 and "change or delete the plugin" in r.stderr, r.stderr

    log = tmp_path / "cpu.log"
    define(
        both.replace(f'handler("tcp", address="{peer.address}")', f'handler("log", path="{log}")')
    )
    assert handlers() == [
        ("cpu_idle:alert0", "log", "log", "cpu_idle"),
        ("cpu_idle:alert0", "post", "post", "cpu_idle"),
    ]
    assert daemon.cli("delete", "cpu_idle").code == 0
    assert handlers() == []


def test_webhooks_are_handlers_and_a_slow_one_holds_up_nothing_else(
    daemon: Daemon, tmp_path: Path
) -> None:
    """A plugin's --webhook and the server's [alert] webhook-url are post handlers of every
    event: one webhook answering after 30 s delays neither the alert log nor the others."""
    daemon.env["KAPACITOR_INTERPRETER_STATS_INTERVAL"] = "200ms"
    with (
        WebhookReceiver(delay_s=30.0) as slow,
        WebhookReceiver() as fast,
        WebhookReceiver() as server,
    ):
        daemon.env["KAPACITOR_ALERT_WEBHOOK_URL"] = server.url
        daemon.start()
        f = tmp_path / "flip.kap"
        f.write_text("alert(value, <, 30)\n")
        for name, hook in (("slowp", slow), ("fastp", fast)):
            r = daemon.cli(
                "define", name, "--from", name, "--script", str(f), "--webhook", hook.url
            )
            assert r.code == 0, r.stderr
            assert daemon.cli("enable", name).code == 0
        r = daemon.cli("define", "bad", "--from", "x", "--script", str(f), "--webhook", "ftp://x")
        assert r.code != 0 and "--webhook must be an http:// or https:// URL" in r.stderr
        daemon.wait_plugins_live()
        body = f"slowp,host=a value=10 {T0}\nslowp,host=a value=50 {T0 + S}\n"
        assert daemon.write(body).status_code == 204
        wait_until(lambda: slow.arrived >= 1, what="the slow webhook's first POST")
        body = f"fastp,host=a value=10 {T0}\nfastp,host=a value=50 {T0 + S}\n"
        assert daemon.write(body).status_code == 204
        wait_until(lambda: len(fast.bodies) >= 2, what="the fast webhook's two events")
        wait_until(lambda: len(server.bodies) >= 4, what="every event at the server's webhook")
        wait_until(lambda: len(daemon.alerts_log()) >= 4, what="every event in the alert log")
        assert slow.bodies == []  # still answering its first
        assert [(e["plugin"], e["level"]) for e in fast.bodies] == [
            ("fastp", "CRITICAL"),
            ("fastp", "OK"),
        ]
        assert sorted((e["plugin"], e["level"]) for e in server.bodies) == [
            ("fastp", "CRITICAL"),
            ("fastp", "OK"),
            ("slowp", "CRITICAL"),
            ("slowp", "OK"),
        ]
        assert len(set(fast.event_ids)) == 2

        listed = daemon.cli("list", "topic-handlers", "--json").json()["handlers"]
        assert [(h["topic"], h["id"], h["kind"], h.get("plugin")) for h in listed] == [
            ("*", "fastp:webhook", "post", "fastp"),
            ("*", "slowp:webhook", "post", "slowp"),
            ("*", "webhook", "post", None),
        ]
        table = daemon.cli("list", "topic-handlers").stdout.splitlines()
        assert [row.split()[:4] for row in table[1:-1]] == [
            ["*", "fastp:webhook", "post", "plugin:fastp"],
            ["*", "slowp:webhook", "post", "plugin:slowp"],
            ["*", "webhook", "post", "config"],
        ]

        def shown() -> str | None:
            text = daemon.cli("show", "fastp").stdout
            return text if "fastp:webhook (post): sent 2" in text else None

        text = wait_until(shown, what="the webhook's counters in show")
        assert text is not None and "Webhooks (every event):\n" in text
        assert "    webhook (post): sent " in text

        r = daemon.cli("delete-topic-handler", "*", "fastp:webhook")
        assert r.code != 0 and "attached by plugin 'fastp''s --webhook" in r.stderr, r.stderr
        r = daemon.cli("delete-topic-handler", "*", "webhook")
        assert r.code != 0 and "change or delete [alert] webhook-url" in r.stderr, r.stderr

        # Defined again without --webhook, a plugin's webhook is gone; deleted, too.
        assert daemon.cli("define", "fastp", "--from", "fastp", "--script", str(f)).code == 0
        assert daemon.cli("delete", "slowp").code == 0
        listed = daemon.cli("list", "topic-handlers", "--json").json()["handlers"]
        assert [(h["topic"], h["id"]) for h in listed] == [("*", "webhook")]
