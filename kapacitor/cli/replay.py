"""`kapacitor replay`: a recording through one plugin in isolation, with a progress bar."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import msgspec
import orjson
import typer

from kapacitor.cli.app import V1, JsonOpt, client_of
from kapacitor.cli.output import fail, print_json, progress_console
from kapacitor.config import REPLAY_REPORT_ALERTS
from kapacitor.errors import ClientError

__all__ = ["replay"]


def replay(
    ctx: typer.Context,
    recording: Annotated[str, typer.Argument(help="recording id")],
    plugin: Annotated[str, typer.Argument(help="plugin name")],
    send_alerts: Annotated[
        bool, typer.Option("--send-alerts", help="also deliver alerts to the plugin's handlers")
    ] = False,
    save: Annotated[
        Path | None, typer.Option("--save", help="write the report (JSON) here")
    ] = None,
    expect: Annotated[
        Path | None, typer.Option("--expect", help="fail unless the report equals this saved one")
    ] = None,
    real_clock: Annotated[
        bool, typer.Option("--real-clock", help="replay at the recorded pace")
    ] = False,
    speed: Annotated[float, typer.Option("--speed", help="replay N times the recorded pace")] = 0.0,
    alerts: Annotated[
        int,
        typer.Option("--alerts", help="list at most N alert events (all are counted); 0: all"),
    ] = REPLAY_REPORT_ALERTS,
    json_out: JsonOpt = False,
) -> None:
    """Replay a recording to a plugin in isolation and print what it raised."""
    from kapacitor.replay.messages import ReplayRequest
    from kapacitor.replay.player import compare_reports, decode_report, encode_report, report_table

    expected = None
    if expect is not None:
        try:
            expected = decode_report(expect.read_bytes())
        except OSError as e:
            fail(f"cannot read {expect}: {e.strerror}", 2)
        except ValueError as e:
            fail(f"{expect} is not a saved replay report: {e}", 2)
    if speed < 0:
        fail("--speed must be positive", 2)
    if alerts < 0:
        fail("--alerts must be 0 (all) or more", 2)
    request = ReplayRequest(
        recording=recording,
        plugin=plugin,
        send_alerts=send_alerts,
        speed=speed or (1.0 if real_clock else 0.0),
        max_alerts=alerts,
    )
    report_doc: Any = None
    console = progress_console()
    progress = None
    if console is not None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        progress = Progress(
            TextColumn("replaying {task.fields[rec]}"),
            BarColumn(),
            TextColumn("{task.fields[count]}"),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=console,
        )
        task = progress.add_task("replay", total=None, rec=recording, rate="", count="")
        progress.start()
    started = time.monotonic()
    try:
        with client_of(ctx).stream(
            "POST", V1 + "/replays", json=msgspec.to_builtins(request)
        ) as lines:
            for raw in lines:
                doc = orjson.loads(raw)
                if "error" in doc:
                    raise ClientError(str(doc["error"]))
                if "report" in doc:
                    report_doc = doc["report"]
                elif progress is not None:
                    rate = doc["done"] / max(time.monotonic() - started, 1e-6)
                    progress.update(
                        task,
                        completed=doc["done"],
                        total=doc["total"],
                        rate=f"{rate:,.0f} points/s",
                        count=f"{doc['done']:,}/{doc['total']:,} points",
                    )
    finally:
        if progress is not None:
            progress.stop()
    if report_doc is None:
        fail("the replay ended without a report")
    report = decode_report(orjson.dumps(report_doc))
    if save is not None:
        save.write_bytes(encode_report(report) + b"\n")
    if json_out:
        print_json(report_doc)
    else:
        sys.stdout.write(report_table(report))
    if expected is not None:
        diffs = compare_reports(expected, report)
        if diffs:
            sys.stderr.write("\n".join(diffs) + "\n")
            fail(f"the replay differs from {expect} in {len(diffs)} place(s)")
