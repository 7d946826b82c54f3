"""R1 with a receiver that answers after 10 s: a slow topic handler must not slow anything else.

Each round runs R1 twice on fresh kapacitords, in alternating order: the plugin as in R1, and
the plugin with `topic="r1"` and a `post` topic handler whose receiver (a real local HTTP
server) answers every request after `--delay` seconds. Reports points/s of both (medians) and
their ratio; docs/alerts.md promises the handler costs ingest less than 10%. Also prints the
handler's counters at the end of its runs (sent, failed, retried, dropped).

    python bench/slow_handler.py [--delay 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

import httpx
from r1 import SCRIPT, bodies, measure, ours

from kapacitor.testing.receivers import WebhookReceiver


def handler_file(url: str) -> str:
    return f"id: slow\ntopic: r1\nkind: post\noptions: {{url: '{url}', timeout: 15s}}\n"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--delay", type=float, default=10.0, help="seconds the receiver waits")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument(
        "--baseline",
        choices=["r1", "topic"],
        default="r1",
        help="compare with R1 as it is, or with R1 sending to the topic with no handler",
    )
    args = ap.parse_args()
    # measure() reads these from the command line of bench/r1.py
    run_args = argparse.Namespace(repeat=1, via="http", connections=1)
    total = args.series * args.steps
    posts = bodies(args.series, args.steps, 5000)
    plain: list[int] = []
    slow: list[int] = []
    counters: list[dict[str, Any]] = []
    topic_script = SCRIPT.rstrip().removesuffix(")") + ', topic="r1")\n'
    with tempfile.TemporaryDirectory() as tmp, WebhookReceiver(delay_s=args.delay) as hook:
        for r in range(args.rounds):
            order = ["plain", "slow"] if r % 2 == 0 else ["slow", "plain"]
            for kind in order:
                folder = Path(tmp) / f"{kind}{r}"
                folder.mkdir()
                if kind == "plain":
                    script = topic_script if args.baseline == "topic" else SCRIPT
                    with ours(folder, "http", {}, script) as target:
                        plain.append(measure(target, posts, total, run_args)["points_per_s"])
                    continue
                with ours(folder, "http", {}, topic_script, [handler_file(hook.url)]) as target:
                    slow.append(measure(target, posts, total, run_args)["points_per_s"])
                    doc = httpx.get(
                        target.url + "/kapacitor/v1/alerts/topics/r1/handlers/slow", timeout=30
                    ).json()
                    counters.append(doc.get("stats", {}))
    a, b = statistics.median(plain), statistics.median(slow)
    baseline = "R1 to the topic, no handler" if args.baseline == "topic" else "R1"
    print(f"{baseline}, each round (points/s): " + ", ".join(f"{x:,}" for x in plain))
    print(
        f"R1 with a topic handler answering after {args.delay:g} s, each round (points/s): "
        + ", ".join(f"{x:,}" for x in slow)
    )
    print(f"medians: {a:,.0f} without, {b:,.0f} with the slow handler: {b / a:.3f}x")
    print(f"the handler's counters at the end of each of its runs: {counters}")
    print(f"POSTs the receiver got: {hook.arrived}")


if __name__ == "__main__":
    main()
