"""R1 replayed: record the R1 workload live, then replay the recording to the R1 plugin.

Reports the live ingest time of the 1,000,000 points (first POST to last 204) and the time of
`replay` (request to report), so the two can be compared: a replay should take no longer.

    python bench/replay_r1.py [--series 1000] [--steps 1000] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).parent))
from r1 import bodies, define_r1

from kapacitor.testing.daemon import Daemon

V1 = "/kapacitor/v1"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--json", action="store_true")
    ap.add_argument(
        "--all-alerts",
        action="store_true",
        help="have the report list every alert event (by default it lists the first 1,000)",
    )
    args = ap.parse_args()
    total = args.series * args.steps
    posts = bodies(args.series, args.steps, 5000)
    with tempfile.TemporaryDirectory() as tmp:
        d = Daemon(Path(tmp) / "kapacitor")
        d.env["KAPACITOR_LOGGING_LEVEL"] = "WARNING"
        d.start()
        try:
            define_r1(d, Path(tmp))
            with httpx.Client(base_url=d.url, timeout=600) as c:
                rec = c.post(V1 + "/recordings/stream", json={"from": "cpu"}).json()["id"]
                time.sleep(0.5)
                t0 = time.perf_counter()
                for body in posts:
                    resp = c.post("/write", params={"db": "telegraf"}, content=body)
                    assert resp.status_code == 204, resp.text
                ingest_s = time.perf_counter() - t0
                deadline = time.monotonic() + 120
                while c.get(f"{V1}/recordings/{rec}").json()["points"] < total:
                    if time.monotonic() > deadline:
                        got = c.get(f"{V1}/recordings/{rec}").json()["points"]
                        sys.exit(f"the recording holds {got} of {total} points after 120 s")
                    time.sleep(0.1)
                c.post(f"{V1}/recordings/{rec}/stop")
                t0 = time.perf_counter()
                report = None
                with c.stream(
                    "POST",
                    V1 + "/replays",
                    json={"recording": rec, "plugin": "r1"}
                    | ({"max_alerts": 0} if args.all_alerts else {}),
                ) as lines:
                    for line in lines.iter_lines():
                        if line.strip():
                            doc = orjson.loads(line)
                            report = doc.get("report", report)
                replay_s = time.perf_counter() - t0
        finally:
            d.stop()
    assert report is not None
    result = {
        "points": total,
        "ingest_seconds": round(ingest_s, 3),
        "replay_seconds": round(replay_s, 3),
        "replay_points_per_s": round(total / replay_s),
        "engine_seconds": round(float(report.get("elapsed", 0.0)), 3),
        "alerts": report.get("alerts_total", len(report["alerts"])),
        "alerts_listed": len(report["alerts"]),
        "points_matched": report["points_matched"],
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"R1 live ingest: {result['ingest_seconds']} s; replay of the recording: "
            f"{result['replay_seconds']} s, of which {result['engine_seconds']} s in the engine "
            f"({result['replay_points_per_s']:,} points/s, "
            f"{result['alerts']} alerts, {result['alerts_listed']} listed, "
            f"{result['points_matched']:,} points matched)"
        )


if __name__ == "__main__":
    main()
