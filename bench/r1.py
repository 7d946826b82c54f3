"""R1: the reference workload, end to end through a real kapacitord.

1,000 series (`cpu`, tags host and region; fields usage_idle and usage_user) x 1,000 timestamps
1 s apart = 1,000,000 points, POSTed as 5,000-line bodies over one keep-alive connection, to the
plugin `alert(avg(window(usage_idle, 10s)), <, 30)` on `cpu`, one instance per host.

Reports end-to-end points/s (first POST until the interpreter has consumed the last point) and
the peak RSS of kapacitord and all its children (nats-server included) together.

    python bench/r1.py [--series 1000] [--steps 1000] [--lines-per-post 5000] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from kapacitor.testing.daemon import Daemon
from kapacitor.testing.procs import children, cmdline, cpu_seconds, rss_kb

SCRIPT = "alert(avg(window(usage_idle, 10s)), <, 30)\n"
T0 = 1_700_000_000_000_000_000


def bodies(series: int, steps: int, per_post: int) -> list[bytes]:
    lines = []
    for t in range(steps):
        ts = T0 + t * 1_000_000_000
        for h in range(series):
            idle = 20.0 + ((h * 7 + t * 13) % 700) / 10.0
            lines.append(
                f"cpu,host=h{h},region=r{h % 10} usage_idle={idle},usage_user={100 - idle} {ts}"
            )
    return [
        "\n".join(lines[i : i + per_post]).encode() + b"\n" for i in range(0, len(lines), per_post)
    ]


def define_r1(d: Daemon, folder: Path) -> None:
    """The R1 plugin on `d`: the script on `cpu`, one instance per host (not enabled)."""
    script = folder / "r1.kap"
    script.write_text(SCRIPT)
    r = d.cli(
        "define", "--name", "r1", "--from", "cpu", "--group-by", "host", "--script", str(script)
    )
    assert r.code == 0, r.stderr


def tree_rss_kb(root: int) -> int:
    """The resident memory of `root` and every process below it, KiB."""
    return sum(map(rss_kb, [root, *children(root)]))


def tree_cpu(root: int) -> dict[str, float]:
    """CPU seconds (user + system) of each process under `root`, by a short name."""
    out: dict[str, float] = {}
    for pid in [root, *children(root)]:
        words = cmdline(pid).split()
        name = "nats-server" if words and "nats-server" in words[0] else "kapacitord"
        for word in words:
            if word.startswith("services."):
                name = word.split(".")[1]
        out[name] = out.get(name, 0.0) + cpu_seconds(pid)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--lines-per-post", type=int, default=5000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    total = args.series * args.steps
    posts = bodies(args.series, args.steps, args.lines_per_post)
    with tempfile.TemporaryDirectory() as tmp:
        d = Daemon(Path(tmp) / "kapacitor")
        d.env["KAPACITOR_ALERT_LOG"] = ""
        d.env["KAPACITOR_LOGGING_LEVEL"] = "WARNING"
        d.start()
        assert d.proc is not None
        peak = [tree_rss_kb(d.proc.pid)]
        done = threading.Event()

        def sample() -> None:
            assert d.proc is not None
            while not done.is_set():
                peak[0] = max(peak[0], tree_rss_kb(d.proc.pid))
                time.sleep(0.05)

        try:
            define_r1(d, Path(tmp))
            assert d.cli("enable", "r1").code == 0
            time.sleep(1.5)  # let every service load the definition
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            cpu0 = tree_cpu(d.proc.pid)
            with httpx.Client(base_url=d.url, timeout=120) as client:
                t0 = time.perf_counter()
                for body in posts:
                    resp = client.post("/write", params={"db": "telegraf"}, content=body)
                    if resp.status_code != 204:
                        sys.exit(f"write failed: {resp.status_code} {resp.text[:300]}")
                t_posted = time.perf_counter() - t0
                while True:
                    doc = client.get("/kapacitor/v1/plugins/r1").json()
                    if doc["points_processed"] >= total:
                        break
                    if time.perf_counter() - t0 > 600:
                        sys.exit(f"timed out: {doc['points_processed']} of {total} processed")
                    time.sleep(0.02)
                elapsed = time.perf_counter() - t0
            cpu1 = tree_cpu(d.proc.pid)
            done.set()
            sampler.join()
            result = {
                "points": total,
                "seconds": round(elapsed, 3),
                "points_per_s": round(total / elapsed),
                "post_seconds": round(t_posted, 3),
                "peak_rss_mb": round(peak[0] / 1024, 1),
                "alerts_fired": doc["alerts_fired"],
                "errors": doc["errors"],
                "cpu_seconds": {k: round(v - cpu0.get(k, 0.0), 2) for k, v in sorted(cpu1.items())},
            }
        finally:
            done.set()
            d.stop()
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"R1: {result['points']:,} points in {result['seconds']} s = "
            f"{result['points_per_s']:,} points/s "
            f"(POSTs done after {result['post_seconds']} s); peak RSS {result['peak_rss_mb']} MB; "
            f"alerts {result['alerts_fired']}, errors {result['errors']}"
        )
        print(
            "CPU seconds by process: "
            + ", ".join(f"{k} {v}" for k, v in result["cpu_seconds"].items())
        )


if __name__ == "__main__":
    main()
