"""Reference workload R1 for the engine, in memory.

1,000 series (hosts) x 1,000 timestamps (1 s apart) = 1,000,000 points, in batches of 5,000
rows (5 timestamps of every host per batch, timestamp-major as a collector would send them),
plugin `alert(avg(window(usage_idle, 10s)), <, 30)`, one instance per host. Only
`PluginRuntime.process` is timed; batches are built beforehand.

    python bench/engine_r1.py [--hosts 1000] [--steps 1000] [--batch 5000] [--count-window]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from kapacitor.clock import ManualClock
from kapacitor.dsl.ast import Call, Duration, Ident, Number, OpRef, Script
from kapacitor.dsl.check import check
from kapacitor.engine import PluginRuntime, build_program
from kapacitor.model.batch import Column, FieldType, PointBatch, SeriesKey

SECOND = 1_000_000_000


def make_batches(
    hosts: int, steps: int, batch_rows: int, seed: int = 1
) -> tuple[list[PointBatch], list[str], list[dict[str, str]]]:
    rng = np.random.default_rng(seed)
    series = [SeriesKey("cpu", (("host", f"h{i:04d}"),)) for i in range(hosts)]
    keys = [str(s) for s in series]
    tags = [dict(s.tags) for s in series]
    steps_per_batch = max(1, batch_rows // hosts)
    t0 = 1_700_000_000 * SECOND
    phases = rng.uniform(0, 2 * np.pi, size=hosts)
    batches = []
    for start in range(0, steps, steps_per_batch):
        n_steps = min(steps_per_batch, steps - start)
        sidx = np.tile(np.arange(hosts, dtype=np.int32), n_steps)
        times = t0 + np.repeat(np.arange(start, start + n_steps, dtype=np.int64), hosts) * SECOND
        # Idle hosts with a slow busy cycle dipping below 30 now and then, so alerts fire and
        # recover (a few per host over the run).
        phase = np.tile(phases, n_steps)
        tsec = np.repeat(np.arange(start, start + n_steps, dtype=np.float64), hosts)
        idle = 55.0 + 30.0 * np.sin(2 * np.pi * tsec / 300.0 + phase)
        idle = (idle + rng.normal(0.0, 5.0, size=idle.shape[0])).clip(0, 100)
        batches.append(
            PointBatch("telegraf", "autogen", series, sidx, times,
                       {"usage_idle": Column(FieldType.FLOAT, idle)})
        )  # fmt: skip
    return batches, keys, tags


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--count-window", action="store_true", help="window(usage_idle, 10)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    size = Number(10) if args.count_window else Duration(10 * SECOND, "10s")
    script = Script(
        (
            Call(
                "alert",
                (
                    Call("avg", (Call("window", (Ident("usage_idle"), size)),)),
                    OpRef("<"),
                    Number(30),
                ),
            ),
        )
    )
    program = build_program(check(script, str(script)))
    print(program)
    batches, keys, tags = make_batches(args.hosts, args.steps, args.batch)
    # The matcher hands the interpreter each row's instance; for R1 that is the series.
    idx = [b.series_idx.astype(np.int64) for b in batches]
    total = sum(len(b) for b in batches)
    best = float("inf")
    for _ in range(args.repeat):
        runtime = PluginRuntime("cpu_idle", program, ManualClock())
        events = 0
        start = time.perf_counter()
        for b, i in zip(batches, idx, strict=True):
            events += len(runtime.process(b, i, keys, tags).events)
        best = min(best, time.perf_counter() - start)
    print(f"{total:,} points in {len(batches)} batches, {events:,} events")
    print(f"best of {args.repeat}: {best:.3f} s = {total / best:,.0f} points/s")


if __name__ == "__main__":
    main()
