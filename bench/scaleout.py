"""Scale-out: how much faster 2 interpreter processes get through the same matched points as 1.

A deployment on one NATS server: a front kapacitord (api, ingest, matcher) and N
interpreter-only kapacitords. The interpreters join and share the partitions, then are paused
(SIGSTOP; leases long enough to outlast the pause) while the points are written and matched,
so the MATCHED stream holds all of them. They are resumed together (SIGCONT) and timed until
the API counts every point processed: the interpreter stage alone, on a plugin that keeps it
busy:

    alert(percentile(window(usage_idle, 1000), 99), <, 1)   --group-by host
    alert(holt_winters(window(usage_idle, 50), 1), <, 0)    (with --heavy)

Reports points/s per run and the speedup of N=2 over N=1 (median of --runs each, alternating).

    python bench/scaleout.py [--series 500] [--steps 1500] [--runs 3] [--heavy] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import nats

from kapacitor.bus import subjects
from kapacitor.testing import procs
from kapacitor.testing.cluster import Cluster
from kapacitor.testing.nats import nats_server
from kapacitor.testing.procs import children, cmdline

PLUGIN = "load"
SCRIPT = "alert(percentile(window(usage_idle, 1000), 99), <, 1)\n"
HEAVY = "alert(holt_winters(window(usage_idle, 50), 1), <, 0)\n"
T0 = 1_700_000_000_000_000_000
# Leases outlast the pause: the paused interpreters keep their partitions.
ENV = {
    "KAPACITOR_CLUSTER_LEASE_TTL": "120s",
    "KAPACITOR_CLUSTER_HEARTBEAT": "1s",
    "KAPACITOR_ALERT_LOG": "",
}


def bodies(series: int, steps: int, per_post: int = 5000) -> list[bytes]:
    lines = []
    for t in range(steps):
        ts = T0 + t * 1_000_000_000
        for h in range(series):
            idle = 20.0 + ((h * 7 + t * 13) % 700) / 10.0
            lines.append(f"cpu,host=h{h} usage_idle={idle} {ts}")
    return [
        "\n".join(lines[i : i + per_post]).encode() + b"\n" for i in range(0, len(lines), per_post)
    ]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of the processes `pids` (gone ones count 0)."""
    return sum(map(procs.cpu_seconds, pids))


def stage_pids(c: Cluster, root: Path) -> dict[str, list[int]]:
    """The processes of each stage: interpreters, the front's services, nats-server."""
    assert c.front.proc is not None
    nats_pids = [
        p for p in children(os.getpid()) if str(root) in cmdline(p) and "nats" in cmdline(p)
    ]
    return {
        "interpreters": [c.interpreter_pid(d) for d in c.interpreters],
        "front": [c.front.proc.pid, *children(c.front.proc.pid)],
        "nats-server": nats_pids,
    }


def processed(client: httpx.Client) -> int:
    return int(client.get(f"/kapacitor/v1/plugins/{PLUGIN}").json()["points_processed"])


def run(
    interpreters: int, posts: list[bytes], total: int, script: str, root: Path
) -> tuple[float, dict[str, float]]:
    """Points/s of `interpreters` interpreters on the preloaded stream, and the CPU seconds
    each stage spent meanwhile."""
    with nats_server(root / "nats") as url:
        c = Cluster(root, url, env=dict(ENV))
        pids: list[int] = []
        try:
            c.front.start()
            for _ in range(interpreters):
                c.add_interpreter()
            c.wait_balanced()
            f = root / "load.kap"
            f.write_text(script)
            r = c.front.cli(
                "define", "--name", PLUGIN, "--from", "cpu", "--group-by", "host",
                "--script", str(f),
            )  # fmt: skip
            assert r.code == 0, r.stderr
            assert c.front.cli("enable", PLUGIN).code == 0
            c.front.wait_plugins_live()
            pids += [c.interpreter_pid(d) for d in c.interpreters]
            for pid in pids:
                os.kill(pid, signal.SIGSTOP)
            with httpx.Client(base_url=c.front.url, timeout=120) as client:
                for body in posts:
                    resp = client.post("/write", params={"db": "telegraf"}, content=body)
                    if resp.status_code != 204:
                        sys.exit(f"write failed: {resp.status_code} {resp.text[:300]}")
                wait_matched(url, total)
                stages = stage_pids(c, root)
                cpu0 = {k: cpu_seconds(v) for k, v in stages.items()}
                start = time.perf_counter()
                for pid in pids:
                    os.kill(pid, signal.SIGCONT)
                while processed(client) < total:
                    time.sleep(0.05)
                now = time.perf_counter()
                cpu = {k: round(cpu_seconds(v) - cpu0[k], 2) for k, v in stages.items()}
                return total / (now - start), cpu
        finally:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)  # a stopped process would not stop
            c.stop()


def wait_matched(url: str, total: int) -> None:
    """Wait until the POINTS stream is drained: every point has been matched."""

    async def pending() -> int:
        nc = await nats.connect(url.split(","))
        try:
            info = await nc.jetstream().stream_info(subjects.POINTS_STREAM)
            return int(info.state.messages)
        finally:
            await nc.close()

    deadline = time.monotonic() + 300
    while asyncio.run(pending()) > 0:
        if time.monotonic() > deadline:
            sys.exit(f"the matcher did not drain {total} points in time")
        time.sleep(0.1)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--series", type=int, default=500)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--heavy", action="store_true", help="holt_winters instead of percentile")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    total = args.series * args.steps
    posts = bodies(args.series, args.steps)
    script = HEAVY if args.heavy else SCRIPT
    rates: dict[int, list[float]] = {1: [], 2: []}
    cpus: dict[int, list[dict[str, float]]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            for n in (1, 2):
                rate, cpu = run(n, posts, total, script, Path(tmp) / f"run{i}-{n}")
                rates[n].append(rate)
                cpus[n].append(cpu)
                if not args.json:
                    print(
                        f"run {i + 1}: {n} interpreter(s): {rate:,.0f} points/s, CPU-s {cpu}",
                        flush=True,
                    )
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    result = {
        "points": total,
        "script": script.strip(),
        "points_per_s": {"1": one, "2": two},
        "runs": {str(k): v for k, v in rates.items()},
        "cpu_seconds": {str(k): v for k, v in cpus.items()},
        "speedup": two / one,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{total:,} points; median 1: {one:,.0f}/s, 2: {two:,.0f}/s, x{two / one:.2f}")


if __name__ == "__main__":
    main()
