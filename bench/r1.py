"""R1: the reference workload, end to end through a real kapacitord, and through Kapacitor 1.5.7.

1,000 series (`cpu`, tags host and region; fields usage_idle and usage_user) x 1,000 timestamps
1 s apart = 1,000,000 points, POSTed as 5,000-line bodies over keep-alive connections, to the
plugin `alert(avg(window(usage_idle, 10s)), <, 30)` on `cpu`, one instance per host.

Reports end-to-end points/s (first POST until the last point is consumed: by our interpreter, by
Kapacitor's window node) and the peak RSS of all processes together (kapacitord, its services and
nats-server; Kapacitor's one process), sampled every 50 ms, with each process's own peak; idle
memory is taken once the system is at rest (two samples 0.5 s apart within 0.5 MB).

    python bench/r1.py [--series 1000] [--steps 1000] [--lines-per-post 5000]
                       [--connections 1] [--via http|nats] [--repeat 1]
                       [--kapacitor PATH/TO/kapacitord] [--rounds 1] [--json]

--kapacitor runs Kapacitor's R1 task (stream|from().measurement('cpu').groupBy('host')
|window().period(10s).every(10s)|mean('usage_idle')|alert().crit(lambda: "mean" < 30)) on the
same bodies through the same client right after ours, and prints the ratio; --rounds N
measures each N times, alternating which goes first, and reports the medians. --repeat N sends R1
N times in a row (the same series and timestamps) and reports each round's peak RSS. --via nats
publishes the bodies on the NATS input subject (Telegraf's outputs.nats) instead of POSTing them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import httpx

from kapacitor.testing.daemon import Daemon
from kapacitor.testing.ports import free_port
from kapacitor.testing.procs import (
    children,
    cmdline,
    cpu_seconds,
    pss_kb,
    rss_pages,
    service_of,
)

SCRIPT = "alert(avg(window(usage_idle, 10s)), <, 30)\n"
TICKSCRIPT = (
    "stream|from().measurement('cpu').groupBy('host')|window().period(10s).every(10s)"
    "|mean('usage_idle')|alert().crit(lambda: \"mean\" < 30)"
)
T0 = 1_700_000_000_000_000_000
DB = "telegraf"
TIMEOUT_S = 600.0


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


def define_r1(d: Daemon, folder: Path, source: str = SCRIPT) -> None:
    """The R1 plugin on `d`: the script on `cpu`, one instance per host (not enabled)."""
    script = folder / "r1.kap"
    script.write_text(source)
    r = d.cli(
        "define", "--name", "r1", "--from", "cpu", "--group-by", "host", "--script", str(script)
    )
    assert r.code == 0, r.stderr


def process_name(pid: int) -> str:
    words = cmdline(pid).split()
    if not words:
        return "?"
    if "nats-server" in words[0]:
        return "nats-server"
    if words[0].endswith("kapacitord") and "python" not in words[0]:
        return "kapacitor-1.5.7"
    return service_of(pid) or "kapacitord"


SAMPLE_S = 0.05
PIDS_EVERY = 20  # samples between two walks of /proc for the process tree
# A process's PSS is read again once its RSS moved by 16 pages (64 KiB) or after 0.5 s (pages
# it shares can turn private, copied on write, without its RSS moving).
PSS_AFTER_PAGES = 16
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
PSS_MAX_AGE_S = 0.5


@dataclass
class Sampler:
    """Peak memory of a process tree every 50 ms: RSS summed and by process name, and PSS
    summed (what the processes occupy together: a page shared by N counts 1/N).

    Inside `with`, the sampling runs in a child process of its own: reading smaps_rollup costs
    about 1 ms of CPU per process sampled, and done by a thread of this process it held the
    GIL against the client posting the bodies. A process whose RSS has not moved has its PSS
    read at most every 0.5 s (see `_pss`). R1 ran 10-20% slower for the sampling before
    (5.8 ms of CPU per sample of our seven processes, in the client's process), Kapacitor 1.5.7
    about 7%. `sample()` asks the child for its peaks."""

    root: int
    peak_kb: int = 0
    peak_pss_kb: int = 0
    peak_by_name: dict[str, int] = field(default_factory=dict)
    peak_pss_by_name: dict[str, int] = field(default_factory=dict)
    _pids: list[int] = field(default_factory=list)
    _last_pss: dict[int, tuple[int, float, int]] = field(default_factory=dict)
    _samples: int = 0
    _conn: Connection | None = None
    _proc: BaseProcess | None = None

    def pids(self) -> list[int]:
        return [self.root, *children(self.root)]

    def sample(self) -> None:
        if self._conn is not None:
            self._conn.send("sample")
            self._take(self._conn.recv())
            return
        if not self._pids or self._samples % PIDS_EVERY == 0:
            self._pids = self.pids()
        self._samples += 1
        total = pss = 0
        now = time.monotonic()
        for pid in self._pids:
            pages = rss_pages(pid)
            kb, share = pages * PAGE_KB, self._pss(pid, pages, now)
            total += kb
            pss += share
            name = process_name(pid)
            self.peak_by_name[name] = max(self.peak_by_name.get(name, 0), kb)
            self.peak_pss_by_name[name] = max(self.peak_pss_by_name.get(name, 0), share)
        self.peak_kb = max(self.peak_kb, total)
        self.peak_pss_kb = max(self.peak_pss_kb, pss)

    def _pss(self, pid: int, rss: int, now: float) -> int:
        """Its PSS, read again only when its RSS moved or the last read is PSS_MAX_AGE_S old:
        smaps_rollup walks every page table (about 1 ms for a service), statm costs 0.02 ms."""
        last = self._last_pss.get(pid)
        if last is None or abs(rss - last[0]) >= PSS_AFTER_PAGES or now - last[1] >= PSS_MAX_AGE_S:
            last = self._last_pss[pid] = (rss, now, pss_kb(pid))
        return last[2]

    def _peaks(self) -> tuple[int, int, dict[str, int], dict[str, int]]:
        return self.peak_kb, self.peak_pss_kb, self.peak_by_name, self.peak_pss_by_name

    def _take(self, peaks: tuple[int, int, dict[str, int], dict[str, int]]) -> None:
        self.peak_kb, self.peak_pss_kb, self.peak_by_name, self.peak_pss_by_name = peaks

    def reset(self) -> None:
        if self._conn is not None:
            self._conn.send("reset")
            self._conn.recv()
        self.peak_kb = self.peak_pss_kb = 0
        self.peak_by_name = {}
        self.peak_pss_by_name = {}

    def __enter__(self) -> Sampler:
        # fork: the child needs nothing but this object (no thread runs yet at this point)
        ctx = multiprocessing.get_context("fork")
        self._conn, theirs = ctx.Pipe()
        self._proc = ctx.Process(target=_sample_loop, args=(self.root, theirs), daemon=True)
        self._proc.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._conn is not None and self._proc is not None:
            self._conn.send("stop")
            self._proc.join()
            self._conn = None

    def cpu(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for pid in self.pids():
            name = process_name(pid)
            out[name] = out.get(name, 0.0) + cpu_seconds(pid)
        return out


def _sample_loop(root: int, conn: Connection) -> None:
    """The child's loop: sample every SAMPLE_S; answer the parent's requests between samples."""
    sampler = Sampler(root)
    while True:
        sampler.sample()
        if not conn.poll(SAMPLE_S):
            continue
        request = conn.recv()
        if request == "stop":
            return
        if request == "reset":
            sampler.reset()
            conn.send(None)
        elif request == "sample":
            sampler.sample()
            conn.send(sampler._peaks())


IDLE_SETTLED_KB = 512
IDLE_WAIT_S = 10.0


def settled(root: int) -> Sampler:
    """The memory of the system at rest: sampled every 0.5 s until two samples in a row agree
    within 0.5 MB (a service still starting, taking its partitions, is not idle), at most
    10 s."""
    deadline = time.monotonic() + IDLE_WAIT_S
    last = -IDLE_SETTLED_KB - 1
    while True:
        idle = Sampler(root)
        idle.sample()
        if abs(idle.peak_pss_kb - last) <= IDLE_SETTLED_KB or time.monotonic() > deadline:
            return idle
        last = idle.peak_pss_kb
        time.sleep(0.5)


def post_all(url: str, path: str, params: dict[str, str], posts: list[bytes], conns: int) -> None:
    """POST every body, spread over `conns` keep-alive connections working at once."""
    failures: list[str] = []

    def worker(mine: list[bytes]) -> None:
        with httpx.Client(base_url=url, timeout=120) as client:
            for body in mine:
                resp = client.post(path, params=params, content=body)
                if resp.status_code != 204:
                    failures.append(f"write failed: {resp.status_code} {resp.text[:300]}")
                    return

    threads = [threading.Thread(target=worker, args=(posts[i::conns],)) for i in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        sys.exit(failures[0])


def publish_all(nats_url: str, subject: str, posts: list[bytes]) -> None:
    """Publish every body on `subject` as Telegraf's outputs.nats does: core NATS, no ack, a
    flush after each batch it sends. (Nothing slows the publisher down: if ingest fell
    behind, the server would drop messages and the run would time out short of the total.)"""
    import nats

    async def run() -> None:
        nc = await nats.connect(nats_url)
        for body in posts:
            await nc.publish(subject, body)
            await nc.flush()
        await nc.close()

    asyncio.run(run())


def wait_consumed(consumed: Callable[[], int], total: int, t0: float) -> None:
    while (n := consumed()) < total:
        if time.perf_counter() - t0 > TIMEOUT_S:
            sys.exit(f"timed out: {n} of {total} consumed")
        time.sleep(0.02)


@dataclass
class Target:
    """A running system under test: where to write, how far it has consumed, its processes."""

    name: str
    url: str
    write_path: str
    write_params: dict[str, str]
    consumed: Callable[[], int]
    root: int
    nats_url: str = ""


def measure(
    target: Target, posts: list[bytes], total: int, args: argparse.Namespace
) -> dict[str, Any]:
    rounds = []
    idle = settled(target.root)
    idle_rss, idle_pss = round(idle.peak_kb / 1024, 1), round(idle.peak_pss_kb / 1024, 1)
    with Sampler(target.root) as sampler:
        cpu0 = sampler.cpu()
        t_all = time.perf_counter()
        for _ in range(args.repeat):
            sampler.reset()
            base = target.consumed()
            t0 = time.perf_counter()
            if args.via == "nats" and target.nats_url:
                publish_all(target.nats_url, "telegraf", posts)
            else:
                post_all(
                    target.url, target.write_path, target.write_params, posts, args.connections
                )
            t_posted = time.perf_counter() - t0
            wait_consumed(target.consumed, base + total, t0)
            elapsed = time.perf_counter() - t0
            sampler.sample()
            rounds.append(
                {
                    "seconds": round(elapsed, 3),
                    "points_per_s": round(total / elapsed),
                    "post_seconds": round(t_posted, 3),
                    "peak_rss_mb": round(sampler.peak_kb / 1024, 1),
                    "peak_pss_mb": round(sampler.peak_pss_kb / 1024, 1),
                    "peak_rss_mb_by_process": {
                        k: round(v / 1024, 1) for k, v in sorted(sampler.peak_by_name.items())
                    },
                    "peak_pss_mb_by_process": {
                        k: round(v / 1024, 1) for k, v in sorted(sampler.peak_pss_by_name.items())
                    },
                }
            )
        spent = time.perf_counter() - t_all
        cpu1 = sampler.cpu()
    cpu = {k: v - cpu0.get(k, 0.0) for k, v in sorted(cpu1.items())}
    first = rounds[0]
    return {
        "system": target.name,
        "points": total,
        "via": args.via if target.nats_url else "http",
        "connections": args.connections,
        **{
            k: first[k]
            for k in ("seconds", "points_per_s", "post_seconds", "peak_rss_mb", "peak_pss_mb")
        },
        "idle_rss_mb": idle_rss,
        "idle_pss_mb": idle_pss,
        "peak_rss_mb_by_process": first["peak_rss_mb_by_process"],
        "peak_pss_mb_by_process": first["peak_pss_mb_by_process"],
        "rounds": rounds,
        "cpu_seconds": {k: round(v, 2) for k, v in cpu.items()},
        "cpu_us_per_point": round(sum(cpu.values()) * 1e6 / (total * args.repeat), 2),
        "wall_seconds_all_rounds": round(spent, 3),
    }


@contextmanager
def ours(
    folder: Path,
    via: str,
    settings: dict[str, str],
    script: str = SCRIPT,
    handlers: Sequence[str] = (),
) -> Iterator[Target]:
    """Our kapacitord with the R1 plugin (`script`) defined and enabled, after the topic
    handlers `handlers` (handler files' text) are defined."""
    d = Daemon(folder / "kapacitor", env=dict(settings))
    d.env["KAPACITOR_ALERT_LOG"] = ""
    # The NATS URL of the embedded server is read from its INFO line.
    d.env["KAPACITOR_LOGGING_LEVEL"] = "INFO" if via == "nats" else "WARNING"
    d.start()
    assert d.proc is not None
    try:
        define_r1(d, folder, script)
        for i, text in enumerate(handlers):
            spec = folder / f"handler{i}.yaml"
            spec.write_text(text)
            r = d.cli("define-topic-handler", str(spec))
            assert r.code == 0, r.stderr
        assert d.cli("enable", "r1").code == 0
        time.sleep(1.5)  # let every service load the definition
        client = httpx.Client(base_url=d.url, timeout=30)

        def consumed() -> int:
            return int(client.get("/kapacitor/v1/plugins/r1").json()["points_processed"])

        yield Target(
            name="this project",
            url=d.url,
            write_path="/write",
            write_params={"db": DB},
            consumed=consumed,
            root=d.proc.pid,
            nats_url=d.nats_url() if via == "nats" else "",
        )
        client.close()
    finally:
        d.stop()


@contextmanager
def kapacitor_157(binary: Path, folder: Path) -> Iterator[Target]:
    """Kapacitor 1.5.7 with its default configuration, but for paths, port, no InfluxDB, no
    usage reporting and quiet logs; the R1 task defined and enabled over its HTTP API."""
    data = folder / "kapacitor157"
    data.mkdir()
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KAPACITOR_")},
        "KAPACITOR_DATA_DIR": str(data),
        "KAPACITOR_REPLAY_DIR": str(data / "replay"),
        "KAPACITOR_STORAGE_BOLTDB": str(data / "kapacitor.db"),
        "KAPACITOR_TASK_DIR": str(data / "tasks"),
        "KAPACITOR_LOAD_DIR": str(data / "load"),
        "KAPACITOR_HTTP_BIND_ADDRESS": f"127.0.0.1:{port}",
        "KAPACITOR_HTTP_LOG_ENABLED": "false",
        "KAPACITOR_INFLUXDB_0_ENABLED": "false",
        "KAPACITOR_REPORTING_ENABLED": "false",
        "KAPACITOR_LOGGING_LEVEL": "ERROR",
    }
    config = data / "kapacitor.conf"
    config.write_bytes(
        subprocess.run([str(binary), "config"], capture_output=True, check=True).stdout
    )
    log = (data / "kapacitord.log").open("wb")
    proc = subprocess.Popen([str(binary), "-config", str(config)], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=url, timeout=30)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if client.get("/kapacitor/v1/ping").status_code == 204:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                sys.exit(
                    f"Kapacitor did not start: {(data / 'kapacitord.log').read_text()[-2000:]}"
                )
            time.sleep(0.1)
        task = {
            "id": "r1",
            "type": "stream",
            "dbrps": [{"db": DB, "rp": "autogen"}],
            "script": TICKSCRIPT,
            "status": "enabled",
        }
        resp = client.post("/kapacitor/v1/tasks", json=task)
        if resp.status_code != 200:
            sys.exit(f"Kapacitor refused the R1 task: {resp.status_code} {resp.text}")

        def consumed() -> int:
            stats = client.get("/kapacitor/v1/tasks/r1").json()["stats"]["node-stats"]
            return int(next(v["collected"] for k, v in stats.items() if k.startswith("window")))

        yield Target(
            name="Kapacitor 1.5.7",
            url=url,
            write_path="/write",
            write_params={"db": DB, "rp": "autogen"},
            consumed=consumed,
            root=proc.pid,
        )
    finally:
        client.close()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def report(r: dict[str, Any]) -> str:
    lines = [
        f"{r['system']}: R1 {r['points']:,} points via {r['via']} "
        f"({r['connections']} connection(s)) in {r['seconds']} s = {r['points_per_s']:,} points/s "
        f"(writes done after {r['post_seconds']} s)",
        f"  memory together (PSS): idle {r['idle_pss_mb']} MB, peak {r['peak_pss_mb']} MB; "
        f"RSS summed: idle {r['idle_rss_mb']} MB, peak {r['peak_rss_mb']} MB",
        "  peak PSS by process (MB): "
        + ", ".join(f"{k} {v}" for k, v in r["peak_pss_mb_by_process"].items()),
        "  peak RSS by process (MB): "
        + ", ".join(f"{k} {v}" for k, v in r["peak_rss_mb_by_process"].items()),
        "  CPU seconds by process: "
        + ", ".join(f"{k} {v}" for k, v in r["cpu_seconds"].items())
        + f" ({r['cpu_us_per_point']} CPU-us per point)",
    ]
    for i, rnd in enumerate(r["rounds"][1:], 2):
        lines.append(
            f"  round {i}: {rnd['points_per_s']:,} points/s, peak PSS {rnd['peak_pss_mb']} MB "
            f"({rnd['peak_pss_mb'] / r['peak_pss_mb']:.2f}x round 1), "
            f"peak RSS {rnd['peak_rss_mb']} MB ({rnd['peak_rss_mb'] / r['peak_rss_mb']:.2f}x)"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--lines-per-post", type=int, default=5000)
    ap.add_argument("--connections", type=int, default=1)
    ap.add_argument("--via", choices=("http", "nats"), default="http")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--kapacitor", type=Path, help="a Kapacitor 1.5.7 kapacitord to compare with")
    ap.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure each system this many times, alternating which goes first; report "
        "every round and the medians",
    )
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KAPACITOR_SECTION_KEY=VALUE",
        help="a config override for our kapacitord (repeatable), e.g. "
        "KAPACITOR_NATS_MEMORY_LIMIT=67108864",
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    settings = dict(item.split("=", 1) for item in args.set)
    if any(not k.startswith("KAPACITOR_") for k in settings):
        sys.exit("--set takes KAPACITOR_<SECTION>_<KEY>=VALUE")
    if args.kapacitor and not shutil.which(str(args.kapacitor)):
        sys.exit(f"--kapacitor: {args.kapacitor} is not an executable")
    total = args.series * args.steps
    posts = bodies(args.series, args.steps, args.lines_per_post)
    ours_runs: list[dict[str, Any]] = []
    theirs_runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            order = ["ours", "kapacitor"] if r % 2 == 0 else ["kapacitor", "ours"]
            for system in order:
                folder = Path(tmp) / f"{system}{r}"
                folder.mkdir()
                if system == "ours":
                    with ours(folder, args.via, settings) as target:
                        ours_runs.append(measure(target, posts, total, args))
                elif args.kapacitor:
                    with kapacitor_157(args.kapacitor, folder) as target:
                        theirs_runs.append(measure(target, posts, total, args))
    out: dict[str, Any] = {"results": [median_run(ours_runs)]}
    if theirs_runs:
        out["results"].append(median_run(theirs_runs))
        out["ratio"] = round(
            out["results"][0]["points_per_s"] / out["results"][1]["points_per_s"], 2
        )
    if args.rounds > 1:
        out["rounds"] = {
            "this project": [r["points_per_s"] for r in ours_runs],
            "Kapacitor 1.5.7": [r["points_per_s"] for r in theirs_runs],
        }
    if args.json:
        print(json.dumps(out if theirs_runs or args.rounds > 1 else out["results"][0]))
        return
    for res in out["results"]:
        print(report(res))
    if args.rounds > 1:
        for name, figures in out["rounds"].items():
            if figures:
                print(f"{name}, each round (points/s): " + ", ".join(f"{f:,}" for f in figures))
    if "ratio" in out:
        print(f"throughput ratio (this project / Kapacitor 1.5.7, medians): {out['ratio']}x")


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median throughput (the lower middle one of an even count)."""
    ranked = sorted(runs, key=lambda r: r["points_per_s"])
    return ranked[(len(ranked) - 1) // 2]


if __name__ == "__main__":
    main()
