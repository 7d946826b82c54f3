"""Multi-function scripts through a real kapacitord. Every alert is recomputed here, point by
point in plain Python; both agree exactly on times, levels and instances, closely on values."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

from kapacitor.engine.scalar import format_number
from kapacitor.testing.daemon import Daemon, wait_until

T0 = 1_700_000_000_000_000_000
S = 1_000_000_000
HOSTS = [("h1", "east"), ("h2", "east"), ("h3", "west")]
STEPS = 80


def generate() -> list[tuple[str, str, int, float, float]]:
    rnd = random.Random(7)
    rows = []
    for step in range(STEPS):
        for host, region in HOSTS:
            idle = max(
                0.0, min(100.0, 50 + 45 * math.sin(step / 9 + len(host)) + rnd.uniform(-8, 8))
            )
            user = round(rnd.uniform(0, 100), 2)
            rows.append((host, region, T0 + step * S, round(idle, 2), user))
    return rows


ROWS = generate()


def body() -> str:
    return "".join(
        f"cpu,host={h},region={r} usage_idle={i},usage_user={u} {t}\n" for h, r, t, i, u in ROWS
    )


Value = Callable[[list[tuple[int, float, float]]], float | None]


def transitions(
    instances: Iterable[tuple[str, list[tuple[int, float, float]]]],
    value: Value,
    fires: Callable[[float], bool],
) -> list[tuple[str, int, str, float]]:
    """(instance, time, level, value) of every transition, evaluating `value` on each prefix."""
    out = []
    for key, points in instances:
        firing = False
        for n in range(1, len(points) + 1):
            v = value(points[:n])
            if v is None:
                continue
            if fires(v) != firing:
                firing = not firing
                out.append((key, points[n - 1][0], "X" if firing else "OK", v))
    return out


def by(key: Callable[[tuple[str, str, int, float, float]], str]) -> list[tuple[str, list]]:
    groups: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
    for row in ROWS:
        groups[key(row)].append((row[2], row[3], row[4]))
    return sorted(groups.items())


def last_n(points: list[tuple[int, float, float]], n: int, col: int) -> list[float] | None:
    return [p[col] for p in points[-n:]] if len(points) >= n else None


def spread_user(points: list[tuple[int, float, float]]) -> float | None:
    w = last_n(points, 5, 2)
    return None if w is None else max(w) - min(w)


def busy_10s(points: list[tuple[int, float, float]]) -> float | None:
    t = points[-1][0]
    if t - 10 * S < points[0][0]:
        return None
    w = [100 - p[1] for p in points if t - 10 * S < p[0] <= t]
    return sum(w) / len(w)


def p90_idle(points: list[tuple[int, float, float]]) -> float | None:
    w = last_n(points, 20, 1)
    if w is None:
        return None
    i = math.floor(len(w) * 90 / 100 + 0.5) - 1
    return sorted(w)[i]


def user_rate(points: list[tuple[int, float, float]]) -> float | None:
    if len(points) < 2:
        return None
    (t1, _, u1), (t2, _, u2) = points[-2], points[-1]
    return (u2 - u1) / ((t2 - t1) / S)


def low_idle_run(points: list[tuple[int, float, float]]) -> float | None:
    if points[-1][1] >= 20:
        return -1.0
    run = 0
    for p in reversed(points):
        if p[1] >= 20:
            break
        run += 1
    return float(run)


PLUGINS = {
    "rate": (
        'alert(derivative(usage_user, 1s), >, 60, level="info")\n',
        [],
        lambda row: f"cpu,host={row[0]},region={row[1]}",
        user_rate,
        lambda v: v > 60,
        "INFO",
    ),
    "stuck": (
        "alert(state_count(usage_idle < 20), >=, 3)\n",
        [],
        lambda row: f"cpu,host={row[0]},region={row[1]}",
        low_idle_run,
        lambda v: v >= 3,
        "CRITICAL",
    ),
    "spread": (
        "let w = window(usage_user, 5)  # the last five points\n"
        'alert(max(w) - min(w), >, 90, level="warning",\n'
        '      message="{level}: " + tag("host") + " spread " + string(max(w) - min(w)))\n',
        [],
        lambda row: f"cpu,host={row[0]},region={row[1]}",
        spread_user,
        lambda v: v > 90,
        "WARNING",
    ),
    "busy": (
        "let busy = 100 - usage_idle\nalert(avg(window(busy, 10s)), >, 70)\n",
        ["--group-by", "region"],
        lambda row: f"region={row[1]}",
        busy_10s,
        lambda v: v > 70,
        "CRITICAL",
    ),
    "p90": (
        'alert(percentile(window(usage_idle, 20), 90), <, 40, message="{host} p90 {value}")\n',
        ["--where", "region = 'east'"],
        lambda row: f"cpu,host={row[0]},region={row[1]}",
        p90_idle,
        lambda v: v < 40,
        "CRITICAL",
    ),
}


def processed(d: Daemon) -> dict[str, int]:
    """points_processed of every plugin of PLUGINS, in one request."""
    plugins = d.get("/kapacitor/v1/plugins").json()["plugins"]
    return {p["name"]: p["points_processed"] for p in plugins if p["name"] in PLUGINS}


def test_multi_function_scripts_match_an_independent_computation(
    daemon: Daemon, tmp_path: Path
) -> None:
    daemon.start()
    for name, (script, extra, *_rest) in PLUGINS.items():
        f = tmp_path / f"{name}.kap"
        f.write_text(script)
        r = daemon.cli("define", "--name", name, "--from", "cpu", "--script", str(f), *extra)
        assert r.code == 0, r.stderr
        assert daemon.cli("enable", name).code == 0
    daemon.add_witness()
    daemon.wait_plugins_live()
    assert daemon.write(body()).status_code == 204

    expected: dict[str, list[tuple[str, int, str, float]]] = {}
    for name, (_script, _extra, key, value, fires, level) in PLUGINS.items():
        rows = by(key)
        if name == "p90":
            rows = [(k, pts) for k, pts in rows if "region=east" in k]
        expected[name] = [
            (k, t, level if lvl == "X" else "OK", v)
            for k, t, lvl, v in transitions(rows, value, fires)
        ]
        assert expected[name], f"the data must make {name} fire"
    total = sum(len(v) for v in expected.values())
    events = wait_until(
        lambda: len(daemon.alerts_log()) >= total and daemon.alerts_log(), what=f"{total} alerts"
    )
    daemon.wait_handled()  # no alert beyond these can follow
    events = daemon.alerts_log()
    for name, want in expected.items():
        got = sorted(
            (e["instance"], e["time_ns"], e["level"], e["value"])
            for e in events
            if e["plugin"] == name
        )
        want = sorted(want)
        assert [g[:3] for g in got] == [w[:3] for w in want], name
        for g, w in zip(got, want, strict=True):
            assert math.isclose(g[3], w[3], rel_tol=1e-9, abs_tol=1e-9), (name, g, w)
    p90 = [e for e in events if e["plugin"] == "p90" and e["level"] == "CRITICAL"]
    assert p90[0]["message"].startswith(p90[0]["tags"]["host"] + " p90 ")
    spread = [e for e in events if e["plugin"] == "spread"]
    assert {e["message"] for e in spread} == {
        f"{e['level']}: {e['tags']['host']} spread {format_number(e['value'])}" for e in spread
    }
    # Counters are published apart from the alerts: wait until they count every matched point.
    matched = {name: len(ROWS) for name in PLUGINS}
    matched["p90"] = sum(1 for row in ROWS if row[1] == "east")
    wait_until(lambda: processed(daemon) == matched, what=f"the points counted: {matched}")
    for name in PLUGINS:
        doc = daemon.cli("show", name, "--json").json()
        assert doc["errors"] == 0
        assert doc["alerts_fired"] == sum(1 for e in expected[name] if e[2] != "OK")


def test_alert_levels_escalate_through_the_daemon(daemon: Daemon, tmp_path: Path) -> None:
    daemon.start()
    script = tmp_path / "levels.kap"
    script.write_text('alert(usage_idle, <, 10, warn=20, info=30, message="{host} {level}")\n')
    r = daemon.cli("define", "--name", "levels", "--from", "cpu", "--script", str(script))
    assert r.code == 0, r.stderr
    assert daemon.cli("enable", "levels").code == 0
    daemon.wait_plugins_live()
    idle = [50, 25, 15, 5, 15, 40]
    lines = "".join(f"cpu,host=h1 usage_idle={v} {T0 + i * S}\n" for i, v in enumerate(idle))
    assert daemon.write(lines).status_code == 204
    events = wait_until(lambda: len(daemon.alerts_log()) >= 5 and daemon.alerts_log(), what="5")
    got = [(e["level"], e["previousLevel"], e["message"], e["duration"]) for e in events]
    assert got == [
        ("INFO", "OK", "h1 INFO", 0),
        ("WARNING", "INFO", "h1 WARNING", S),
        ("CRITICAL", "WARNING", "h1 CRITICAL", 2 * S),
        ("WARNING", "CRITICAL", "h1 WARNING", 3 * S),
        ("OK", "WARNING", "h1 OK", 4 * S),
    ]
    assert len({e["id"] for e in events}) == 1
