"""Replaying recorded points to one plugin, in isolation, and reporting the alerts it raised.

`replay(batches, definition)` runs the points through exactly what the live services run:

1. All batches are merged and their rows ordered by event time. The sort is stable: rows with
   the same time keep their recorded order (batch order, then row order), so a recording of a
   live stream replays in the order the points arrived.
2. The rows are fed in chunks of `CHUNK_ROWS` rows. Each chunk goes through the matcher's
   `route` with the plugin's `routes_for` route (--from, --where, --db, --rp), then through a
   `kapacitor.host.PluginHost` holding only this plugin — the interpreter's own code, so
   instance resolution (--group-by), windows, alerts and counters are the live ones.
3. The host's clock is a ManualClock set, before each chunk, to the chunk's latest event time:
   `now()` and anything else that asks the clock sees replay time, not the wall clock.

The plugin runs even when its definition is disabled (replaying is how a plugin is tried
before it is enabled), and nothing is delivered: the events only go into the report.

A chunk holds rows of one db/rp and one type per field (a batch column has one type): rows of
recordings that mix databases, or type one field differently in different batches, are cut
into more, smaller chunks at those boundaries, still in time order.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from itertools import pairwise
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from kapacitor.alerting.document import event_document, rfc3339
from kapacitor.clock import ManualClock
from kapacitor.errors import KapacitorError
from kapacitor.host import PluginHost
from kapacitor.match.router import route, routes_for
from kapacitor.model.batch import FieldType, PointBatch, compatible, concat_batches, field_types
from kapacitor.plugins import PluginDefinition

__all__ = [
    "CHUNK_ROWS",
    "ReplayReport",
    "compare_reports",
    "decode_report",
    "encode_report",
    "replay",
    "report_table",
]

CHUNK_ROWS = 20_000  # as many rows as the interpreter joins (interpreter.join-rows)
MAX_ERRORS = 100
LEVEL_ORDER = ("CRITICAL", "WARNING", "INFO", "OK")


class ReplayReport(msgspec.Struct, kw_only=True):
    """The outcome of one replay.

    `points_replayed`: rows in the recording; `points_matched`: rows that reached the plugin
    (--from/--where/--db/--rp); `points_processed`/`points_skipped`: the plugin's own counters
    (as `kapacitor show` prints them); `first_time`/`last_time`: event-time range of the
    recording (ns, 0 when empty); `alerts`: the alert events as the alert log writes them
    (`kapacitor.alerting.document.event_document`), in the order the plugin raised them;
    `levels`: number of events per level; `elapsed`: wall-clock seconds the replay took;
    `alerts_total`: how many events there were (`alerts` lists the first `max_alerts`).
    """

    plugin: str
    recording: str = ""
    points_replayed: int = 0
    points_matched: int = 0
    points_processed: int = 0
    points_skipped: int = 0
    first_time: int = 0
    last_time: int = 0
    alerts: list[dict[str, Any]] = msgspec.field(default_factory=list)
    alerts_total: int = 0  # every alert event, listed in `alerts` or not
    levels: dict[str, int] = msgspec.field(default_factory=dict)
    errors: list[str] = msgspec.field(default_factory=list)
    elapsed: float = 0.0


def encode_report(report: ReplayReport) -> bytes:
    return msgspec.json.encode(report)


def decode_report(data: bytes) -> ReplayReport:
    """Raises msgspec.DecodeError (a ValueError) on anything that is not a report."""
    return msgspec.json.decode(data, type=ReplayReport)


# --------------------------------------------------------------------------- ordering


class _Family:
    """Batches that can share one chunk: same db/rp, no field typed two ways."""

    def __init__(self, first: PointBatch) -> None:
        self.db, self.rp = first.db, first.rp
        self.types: dict[str, FieldType] = field_types(first)
        self.members: list[tuple[int, PointBatch]] = []

    def accepts(self, batch: PointBatch) -> bool:
        return batch.db == self.db and batch.rp == self.rp and compatible(self.types, batch)

    def add(self, offset: int, batch: PointBatch) -> None:
        self.members.append((offset, batch))
        self.types.update(field_types(batch))


def _time_ordered(
    batches: Iterable[PointBatch],
) -> tuple[list[PointBatch], npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.int64]]:
    """(merged family batches, family of each row, row within its family, time of each row),
    the rows in event-time order (stable by recorded order)."""
    families: list[_Family] = []
    offset = 0
    for b in batches:
        if not len(b):
            continue
        family = next((f for f in families if f.accepts(b)), None)
        if family is None:
            family = _Family(b)
            families.append(family)
        family.add(offset, b)
        offset += len(b)
    if not families:
        empty = np.zeros(0, np.intp)
        return [], empty, empty, np.zeros(0, np.int64)
    merged = [concat_batches([b for _, b in f.members]) for f in families]
    seq = np.concatenate(
        [np.arange(o, o + len(b), dtype=np.int64) for f in families for o, b in f.members]
    )
    fam = np.concatenate([np.full(len(m), i, dtype=np.intp) for i, m in enumerate(merged)])
    local = np.concatenate([np.arange(len(m), dtype=np.intp) for m in merged])
    times = np.concatenate([m.time for m in merged]).astype(np.int64, copy=False)
    in_order = times[seq.argsort(kind="stable")] if len(families) > 1 else times
    if not bool((in_order[1:] >= in_order[:-1]).all()):
        order = np.lexsort((seq, times))
        return merged, fam[order], local[order], times[order]
    # Recorded in time order (a live recording almost always is): the stable sort by time is
    # the recorded order, found without sorting a million rows.
    order = seq.argsort(kind="stable") if len(families) > 1 else np.arange(len(seq))
    return merged, fam[order], local[order], times[order]


# --------------------------------------------------------------------------- replay


def replay(
    batches: Iterable[PointBatch],
    definition: PluginDefinition,
    *,
    progress: Callable[[int, int], None] | None = None,
    total: int | None = None,
    recording: str = "",
    chunk_rows: int = CHUNK_ROWS,
    pace: Callable[[int], None] | None = None,
    max_alerts: int = 0,
) -> ReplayReport:
    """Replay `batches` to the plugin `definition` (see the module doc) and report.

    `progress(done, total)` is called after every chunk with the rows replayed so far and
    `total` (default: the rows in the recording). `pace(event_time)`, when given, is called
    before each chunk with its last event time and may sleep to replay at recorded pace.
    Errors of the plugin (it cannot be loaded, a chunk fails) go into the report's `errors`,
    as the interpreter would count them; nothing raises except a `progress` callback.
    """
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be positive")
    started = time.perf_counter()
    report = ReplayReport(plugin=definition.name, recording=recording)
    merged, fam, local, times = _time_ordered(batches)
    n = int(times.shape[0])
    report.points_replayed = n
    if n:
        report.first_time, report.last_time = int(times[0]), int(times[-1])
    expected_total = n if total is None else total

    name = definition.name
    clock = ManualClock(int(times[0]) if n else 0)
    host = PluginHost(clock)
    try:
        routes = routes_for([definition])
    except KapacitorError as e:
        report.errors.append(f"cannot route: {e}")
        report.elapsed = time.perf_counter() - started
        return report
    host.sync([msgspec.structs.replace(definition, enabled=True)])
    stats = host.plugin_stats(name)
    if name not in host.slots:
        report.errors.append(stats.last_error or "the plugin cannot be loaded")
        report.elapsed = time.perf_counter() - started
        return report

    events: list[dict[str, Any]] = []
    levels: Counter[str] = Counter()
    errors_seen = 0
    if pace is not None and n:
        pace(int(times[0]))  # the recording's start is "now" for the paced replay
    for start in range(0, n, chunk_rows):
        stop = min(n, start + chunk_rows)
        if pace is not None:
            pace(int(times[stop - 1]))  # --real-clock/--speed: wait until this chunk is due
        clock.set(int(times[stop - 1]))
        chunk_fam = fam[start:stop]
        cuts = np.flatnonzero(np.diff(chunk_fam)) + 1
        bounds = [0, *cuts.tolist(), stop - start]
        for a, b in pairwise(bounds):
            rows = merged[int(chunk_fam[a])].take(local[start + a : start + b])
            try:
                # A scheduled plugin's recording holds its query's answers: all of them are its.
                matched = rows if definition.scheduled else route(rows, routes).get(name)
            except KapacitorError as e:
                report.errors.append(f"cannot route: {e}")
                continue
            if matched is None:
                continue
            report.points_matched += len(matched)
            for event in host.process(name, matched):
                levels[event.level] += 1
                if not max_alerts or len(events) < max_alerts:
                    events.append(event_document(event))
            stats = host.plugin_stats(name)
            if stats.errors != errors_seen:
                errors_seen = stats.errors
                report.errors.append(stats.last_error)
        if progress is not None:
            progress(stop, expected_total)

    if len(report.errors) > MAX_ERRORS:
        more = len(report.errors) - MAX_ERRORS
        report.errors = [*report.errors[:MAX_ERRORS], f"... and {more} more errors"]
    report.alerts = events
    report.alerts_total = sum(levels.values())
    report.levels = dict(levels)
    report.points_processed = stats.points_processed
    report.points_skipped = stats.points_skipped
    report.elapsed = time.perf_counter() - started
    return report


# --------------------------------------------------------------------------- rendering


def _fmt_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _levels_line(levels: dict[str, int]) -> str:
    order = [lv for lv in LEVEL_ORDER if lv in levels] + sorted(set(levels) - set(LEVEL_ORDER))
    return ", ".join(f"{lv} {levels[lv]}" for lv in order) or "none"


def report_table(report: ReplayReport) -> str:
    """The report as plain text: a summary, then one line per alert event in fixed columns
    (TIME, LEVEL, INSTANCE, VALUE, MESSAGE), then the errors."""
    head = [f"Plugin:     {report.plugin}"]
    if report.recording:
        head.append(f"Recording:  {report.recording}")
    if report.points_replayed:
        head.append(f"Time range: {rfc3339(report.first_time)} .. {rfc3339(report.last_time)}")
    head.append(
        f"Points:     {report.points_replayed} replayed, {report.points_matched} matched, "
        f"{report.points_processed} processed, {report.points_skipped} skipped"
    )
    listed = ""
    if report.alerts_total > len(report.alerts):
        listed = f"; the first {len(report.alerts)} listed (--alerts 0 lists all)"
    total = max(report.alerts_total, len(report.alerts))
    head.append(f"Alerts:     {total} ({_levels_line(report.levels)}{listed})")
    head.append(f"Errors:     {len(report.errors)}")
    head.append(f"Elapsed:    {report.elapsed:.3f}s")
    lines = head
    if report.alerts:
        header = ("TIME", "LEVEL", "INSTANCE", "VALUE", "MESSAGE")
        rows = [
            (
                str(a.get("time", "")),
                str(a.get("level", "")),
                str(a.get("instance", "")),
                _fmt_value(a.get("value", "")),
                str(a.get("message", "")),
            )
            for a in report.alerts
        ]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
        lines.append("")
        for r in [header, *rows]:
            cells = [c.ljust(w) for c, w in zip(r[:4], widths, strict=True)]
            lines.append("  ".join([*cells, r[4]]).rstrip())
    if report.errors:
        lines.append("")
        lines += [f"error: {e}" for e in report.errors]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- comparing

# Fields that differ between two runs of the same replay without anything being wrong.
IGNORED_FIELDS = frozenset({"elapsed", "recording", "created"})
_COMPARED = (
    "plugin",
    "points_replayed",
    "points_matched",
    "points_processed",
    "points_skipped",
    "first_time",
    "last_time",
    "levels",
    "errors",
)


def _describe(alert: dict[str, Any]) -> str:
    return f"{alert.get('level', '?')} {alert.get('instance', '?')} at {alert.get('time', '?')}"


def compare_reports(expected: ReplayReport, actual: ReplayReport) -> list[str]:
    """Human-readable differences between two reports (empty when they agree), ignoring what
    legitimately varies between runs (`IGNORED_FIELDS`: elapsed time, recording id).

    Alerts are compared in order, field by field (level, time, value, message, ...)."""
    out: list[str] = []
    for name in _COMPARED:
        want, got = getattr(expected, name), getattr(actual, name)
        if want != got:
            out.append(f"{name}: expected {want!r}, got {got!r}")
    want_alerts, got_alerts = expected.alerts, actual.alerts
    if len(want_alerts) != len(got_alerts):
        out.append(f"alerts: expected {len(want_alerts)} events, got {len(got_alerts)}")
    for i, (w, g) in enumerate(zip(want_alerts, got_alerts, strict=False), start=1):
        for key in sorted((set(w) | set(g)) - IGNORED_FIELDS):
            if key == "time_ns" and w.get("time") != g.get("time"):
                continue  # reported once, as `time`
            if w.get(key) != g.get(key):
                out.append(
                    f"alert {i} ({_describe(w)}): {key} expected {w.get(key)!r}, got {g.get(key)!r}"
                )
    for i, w in enumerate(want_alerts[len(got_alerts) :], start=len(got_alerts) + 1):
        out.append(f"alert {i} missing: {_describe(w)}")
    for i, g in enumerate(got_alerts[len(want_alerts) :], start=len(want_alerts) + 1):
        out.append(f"alert {i} unexpected: {_describe(g)}")
    return out
