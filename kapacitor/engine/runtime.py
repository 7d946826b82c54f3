"""Running a planned plugin over point batches, with per-instance state.

`PluginRuntime.process` takes one columnar batch and the instance of every row and runs the
program's operators over whole columns:

1. Rows are stably sorted by instance, so each instance's rows are one run in arrival order.
2. If the program has a time window, *late* rows (time below the newest time of an earlier,
   not-late row of the instance) are dropped and counted.
3. Each field the program reads becomes a column that has a value only on rows carrying the
   field as int/uint/float; on the other rows everything computed from it has no value (so the
   row does not enter windows over it). Rows lacking any read field count as *skipped*.
4. Operators run in plan order over those working rows; windows and alerts carry state per
   instance in arrays indexed by a dense id the runtime gives each instance key it sees rows of.
5. Alert state changes become `AlertEvent`s, returned in batch row order (then alert order).

Nothing here reads the wall clock: `now()` and `stats.last_batch_ns` ask `clock`, once per batch.
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from kapacitor.clock import Clock
from kapacitor.engine.aggregate import AGGREGATE_FUNCTIONS
from kapacitor.engine.alert import LEVELS, AlertState
from kapacitor.engine.columns import Scalar, Text, Value, Vector, and_valid
from kapacitor.engine.deadman import DeadmanOp, DeadmanSnap, DeadmanState
from kapacitor.engine.events import AlertEvent, build_event
from kapacitor.engine.forecast import ForecastOp, apply_forecast
from kapacitor.engine.groups import BoolArray, FloatArray, Groups, IntArray, groups_of, grow
from kapacitor.engine.hop import HopWindowState
from kapacitor.engine.plan import (
    AggOp,
    AlertOp,
    BinaryOp,
    ConstOp,
    CountWindowOp,
    FieldOp,
    MathOp,
    Program,
    TimeOp,
    TimeWindowOp,
    UnaryOp,
)
from kapacitor.engine.scalar import FuncOp, RowContext, evaluate, read_field
from kapacitor.engine.shift import ShiftOp, shifted
from kapacitor.engine.stream import StreamOp, StreamState
from kapacitor.engine.vecfuncs import VecOp, aggregate_with_empty, apply_vector
from kapacitor.engine.window import NO_TIME, WindowState, window_vector
from kapacitor.errors import CodecError, PluginError
from kapacitor.model.batch import FieldType, PointBatch

SNAPSHOT_VERSION = 2  # 2: alert levels instead of firing bits
_NUMERIC = (FieldType.FLOAT, FieldType.INT, FieldType.UINT)
_COMPARE = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}


@dataclass(slots=True)
class RuntimeStats:
    """Counters since the runtime was created (not part of snapshots)."""

    points_processed: int = 0
    points_skipped: int = 0  # lacked (as a number) at least one field the program reads
    points_late: int = 0  # older than the instance's newest point (time windows only)
    points_refused: int = 0  # of new instances beyond max_instances
    alerts_fired: int = 0
    recoveries: int = 0
    errors: int = 0
    batches: int = 0
    last_batch_ns: int = 0


@dataclass(slots=True)
class ProcessResult:
    """Outcome of one batch: `points + skipped + late + refused == len(batch)`.

    `points`: rows carrying every field the program reads; `skipped`: rows lacking one or more
    (they still feed the parts of the program that do not need the missing field); `late`: rows
    dropped for arriving out of time order (time-window programs only); `refused`: rows of new
    instances the runtime had no room for (`max_instances`).
    """

    events: list[AlertEvent]
    points: int
    skipped: int
    late: int = 0
    refused: int = 0


@dataclass(frozen=True, slots=True)
class _Rows:
    """The working rows of a batch: sorted by instance, with their batch row and instance."""

    times: IntArray
    inst: IntArray
    groups: Groups
    order: IntArray  # batch row of each working row
    bidx: IntArray  # batch instance index of each batch row


class _WindowSnap(msgspec.Struct, frozen=True):
    lens: bytes
    vals: bytes
    times: bytes
    seen: bytes
    first: bytes
    next_emit: bytes = b""  # windows with every= (hop.py)


class _AlertSnap(msgspec.Struct, frozen=True):
    level: bytes
    fired_at: bytes


class _Snapshot(msgspec.Struct, frozen=True):
    v: int
    plugin: str
    program: str
    keys: list[str]
    newest: bytes
    windows: list[_WindowSnap]
    alerts: list[_AlertSnap]
    streams: list[dict[str, bytes]] = msgspec.field(default_factory=list)
    deadman: DeadmanSnap | None = None


def _arr(data: bytes, dtype: str, n: int | None = None) -> npt.NDArray[Any]:
    out = np.frombuffer(data, dtype=dtype).copy()
    if n is not None and out.shape[0] != n:
        raise CodecError(f"snapshot array has {out.shape[0]} entries, expected {n}")
    return out


class PluginRuntime:
    """One plugin's program plus the state of all its instances."""

    def __init__(self, plugin: str, program: Program, clock: Clock, max_instances: int = 0) -> None:
        self.plugin = plugin
        self.program = program
        self.clock = clock
        self.max_instances = max_instances  # 0: no limit
        self.stats = RuntimeStats()
        self._reset()

    def _reset(self) -> None:
        self._ids: dict[str, int] = {}
        self._windows: dict[int, WindowState] = {}
        self._alerts: dict[int, AlertState] = {}
        self._streams: dict[int, StreamState] = {}
        for i, op in enumerate(self.program.ops):
            if isinstance(op, CountWindowOp) and op.every is not None:
                self._windows[i] = HopWindowState(size=op.n, every=op.every)
            elif isinstance(op, CountWindowOp):
                self._windows[i] = WindowState(size=op.n)
            elif isinstance(op, TimeWindowOp) and op.every_ns is not None:
                self._windows[i] = HopWindowState(
                    span_ns=op.span_ns, every_ns=op.every_ns, align=op.align
                )
            elif isinstance(op, TimeWindowOp):
                self._windows[i] = WindowState(span_ns=op.span_ns)
            elif isinstance(op, ShiftOp):
                self._windows[i] = op.window()
            elif isinstance(op, AlertOp):
                self._alerts[i] = AlertState()
            elif isinstance(op, StreamOp):
                self._streams[i] = StreamState(op)
        self._newest: IntArray = np.zeros(0, np.int64)
        self._seen_at: IntArray = np.zeros(0, np.int64)  # clock time of each instance's last row
        self._key_bytes = 0  # what the instance keys hold, kept as keys come and go
        self._capacity = 0
        self._deadman = DeadmanState(self.program.deadmen, self.clock.now_ns())

    @property
    def instance_count(self) -> int:
        return len(self._ids)

    def _operator_states(self) -> list[WindowState | AlertState | StreamState]:
        """The per-instance state of every window, alert and stream function."""
        return [*self._windows.values(), *self._alerts.values(), *self._streams.values()]

    def _ensure(self, n: int) -> None:
        if n <= self._capacity:
            return
        cap = max(n, 2 * self._capacity, 64)
        for state in self._operator_states():
            state.ensure(cap)
        self._deadman.ensure(cap)
        self._newest = grow(self._newest, cap, NO_TIME)
        self._seen_at = grow(self._seen_at, cap, self.clock.now_ns())
        self._capacity = cap

    def process(
        self,
        batch: PointBatch,
        instance_idx: npt.NDArray[np.integer[Any]],
        instance_keys: list[str],
        instance_tags: list[dict[str, str]],
    ) -> ProcessResult:
        """Run one batch; `instance_idx[i]` indexes `instance_keys`/`instance_tags` for row i."""
        try:
            result = self._process(batch, instance_idx, instance_keys, instance_tags)
        except Exception:
            self.stats.errors += 1
            raise
        self.stats.batches += 1
        self.stats.last_batch_ns = self.clock.now_ns()
        self.stats.points_processed += result.points
        self.stats.points_skipped += result.skipped
        self.stats.points_late += result.late
        self.stats.points_refused += result.refused
        return result

    def _process(
        self,
        batch: PointBatch,
        instance_idx: npt.NDArray[np.integer[Any]],
        instance_keys: list[str],
        instance_tags: list[dict[str, str]],
    ) -> ProcessResult:
        n = len(batch)
        bidx = np.asarray(instance_idx, dtype=np.int64)
        if bidx.shape != (n,):
            raise PluginError(f"instance_idx has shape {bidx.shape}, the batch has {n} rows")
        if len(instance_tags) != len(instance_keys):
            raise PluginError("instance_keys and instance_tags differ in length")
        if n == 0:
            return ProcessResult([], 0, 0)
        if int(bidx.min()) < 0 or int(bidx.max()) >= len(instance_keys):
            raise PluginError("instance_idx points outside instance_keys")

        ids = self._ids
        # Only keys that have rows get a (persistent) id: one dict lookup per instance, not row.
        used = np.flatnonzero(np.bincount(bidx, minlength=len(instance_keys)))
        key_ids = np.full(len(instance_keys), -1, np.int64)
        known = len(ids)
        limit = self.max_instances
        if limit and known + used.shape[0] > limit:
            key_ids[used] = self._admit([instance_keys[k] for k in used.tolist()], limit)
            used = used[key_ids[used] >= 0]
        else:
            key_ids[used] = [ids.setdefault(instance_keys[k], len(ids)) for k in used.tolist()]
        if len(ids) > known:
            self._key_bytes += sum(
                map(sys.getsizeof, itertools.islice(reversed(ids), len(ids) - known))
            )
        self._ensure(len(ids))
        self._seen_at[key_ids[used]] = self.clock.now_ns()
        inst_all = key_ids[bidx]

        order = np.argsort(inst_all, kind="stable")
        refused = 0
        if int(inst_all[order[0]]) < 0:
            refused = int(np.count_nonzero(inst_all < 0))  # sorted first: cut them off
            order = order[refused:]
            n -= refused
            if n == 0:
                return ProcessResult([], 0, 0, 0, refused)
        inst = inst_all[order]
        times = batch.time[order].astype(np.int64, copy=False)
        groups = groups_of(inst)
        if self._deadman:
            self._observe(groups, key_ids, used, instance_tags)
        late = 0
        if self.program.has_time_window:
            keep = self._drop_late(times, groups)
            if keep is not None:
                late = n - int(keep.shape[0])
                order, inst, times = order[keep], inst[keep], times[keep]
                groups = groups_of(inst)
        m = int(order.shape[0])
        if m == 0:
            return ProcessResult([], 0, 0, late, refused)
        fields, complete = self._read_fields(batch, order)
        skipped = m - (m if complete is None else int(np.count_nonzero(complete)))
        now = float(self.clock.now_ns())

        found: list[tuple[int, int, AlertEvent]] = []
        env: list[Value | None] = []
        for i, op in enumerate(self.program.ops):
            if isinstance(op, FieldOp):
                env.append(fields[op.name])
            elif isinstance(op, TimeOp):
                env.append(Scalar(np.full(m, now) if op.now else times.astype(np.float64)))
            elif isinstance(op, MathOp):
                env.append(_math(op.func, _scalar(env[op.arg])))
            elif isinstance(op, ConstOp):
                env.append(Scalar(np.full(m, op.value, np.float64)))
            elif isinstance(op, UnaryOp):
                env.append(_unary(op.op, _scalar(env[op.arg])))
            elif isinstance(op, BinaryOp):
                env.append(_binary(op.op, _scalar(env[op.left]), _scalar(env[op.right])))
            elif isinstance(op, CountWindowOp | TimeWindowOp):
                env.append(self._window(i, _scalar(env[op.arg]), times, inst, groups, m))
            elif isinstance(op, StreamOp):
                env.append(self._streams[i].apply(_scalar(env[op.arg]), times, inst, groups))
            elif isinstance(op, ShiftOp):
                vec = self._window(i, _scalar(env[op.arg]), times, inst, groups, m)
                env.append(shifted(op, vec))
            elif isinstance(op, AggOp):
                env.append(_aggregate(op, _vector(env[op.arg]), m))
            elif isinstance(op, ForecastOp):
                env.append(apply_forecast(op, _vector(env[op.arg])))
            elif isinstance(op, VecOp):
                env.append(apply_vector(op, _vector(env[op.arg])))
            elif isinstance(op, FuncOp):
                ctx = RowContext(batch, order, bidx, times, instance_tags)
                env.append(evaluate(op, [env[j] for j in op.args], ctx))
            elif isinstance(op, DeadmanOp):
                env.append(None)  # driven by on_timer(); rows are counted above
            else:
                env.append(None)
                work = _Rows(times, inst, groups, order, bidx)
                self._alert(i, op, env, work, instance_keys, instance_tags, found)
        found.sort(key=lambda e: (e[0], e[1]))
        return ProcessResult([e[2] for e in found], m - skipped, skipped, late, refused)

    def _admit(self, keys: list[str], limit: int) -> list[int]:
        """Ids for `keys`, new ones only while fewer than `limit` instances are held (-1)."""
        ids = self._ids
        out = []
        for key in keys:
            i = ids.get(key)
            if i is None and len(ids) < limit:
                i = ids[key] = len(ids)
            out.append(-1 if i is None else i)
        return out

    def _observe(
        self, groups: Groups, key_ids: IntArray, used: IntArray, tags: list[dict[str, str]]
    ) -> None:
        """Count each instance's rows for deadman() (skipped and late rows included)."""
        inverse: dict[int, int] = {}

        def tags_of(iid: int) -> dict[str, str]:
            if not inverse:
                inverse.update(zip(key_ids[used].tolist(), used.tolist(), strict=True))
            return dict(tags[inverse[iid]])

        self._deadman.observe(groups.ids, groups.counts, self.clock.now_ns(), tags_of)

    def expire(self, idle_ns: int) -> int:
        """Forget every instance that received no row during the last `idle_ns` of the
        runtime's clock: its windows, stream state and alert level go, and a row arriving
        later starts it afresh. Returns how many went. A program with deadman() keeps all its
        instances (watching silent ones is its job).
        """
        n = len(self._ids)
        if self._deadman or n == 0:
            return 0
        keep = np.flatnonzero(self._seen_at[:n] > self.clock.now_ns() - idle_ns).astype(np.int64)
        if keep.shape[0] == n:
            return 0
        keys = list(self._ids)
        self._ids = {keys[i]: j for j, i in enumerate(keep.tolist())}
        for state in self._operator_states():
            state.keep(keep)
        self._newest = self._newest[keep]
        self._seen_at = self._seen_at[keep]
        self._capacity = int(keep.shape[0])
        self._key_bytes = sum(map(sys.getsizeof, self._ids))
        return n - self._capacity

    def state_bytes(self) -> int:
        """About the memory the instances' state holds: every state array (window pools
        included) and the instance keys; constant time."""
        parts: list[object] = [*self._operator_states(), self._deadman, *self._deadman.ops]
        arrays = self._newest.nbytes + self._seen_at.nbytes + sum(map(_array_bytes, parts))
        return arrays + self._key_bytes + sys.getsizeof(self._ids)

    def next_timer(self) -> int | None:
        """The clock time of the next deadman() check, or None without deadman()."""
        return self._deadman.next_timer()

    def on_timer(self, now_ns: int) -> list[AlertEvent]:
        """Run the deadman() checks due at clock time `now_ns` (and early recoveries).

        Call it periodically (the interpreter does, every second) with the runtime clock's
        time; in a replay, with the replay's event-time clock. Events come in instance id
        order, then statement order.
        """
        if not self._deadman:
            return []
        found = self._deadman.on_timer(
            now_ns, self.plugin, list(self._ids), self.program.outputs > 1
        )
        for _, _, event in found:
            if event.level == "OK":
                self.stats.recoveries += 1
            else:
                self.stats.alerts_fired += 1
        return [e for _, _, e in found]

    def _read_fields(
        self, batch: PointBatch, order: IntArray
    ) -> tuple[dict[str, Scalar | Text], BoolArray | None]:
        """Each field the program reads, as float64 over the working rows, valid where the row
        carries it as a number (string and bool fields: see scalar.read_field); and the rows
        carrying all of them (None: every row)."""
        m = int(order.shape[0])
        out: dict[str, Scalar | Text] = {}
        complete: BoolArray | None = None
        for fop in self.program.ops:
            if not isinstance(fop, FieldOp):
                continue
            name, col = fop.name, batch.fields.get(fop.name)
            if fop.type != "number":
                typed = read_field(batch, name, fop.type, order)
                out[name] = typed
                complete = and_valid(complete, typed.valid)
                continue
            if col is None or col.type not in _NUMERIC:
                scalar = Scalar(np.zeros(m, np.float64), np.zeros(m, np.bool_))
            else:
                present = None if col.present is None else col.present[order]
                scalar = Scalar(col.values[order].astype(np.float64), present)
            out[name] = scalar
            complete = and_valid(complete, scalar.valid)
        return out, complete

    def _drop_late(self, times: IntArray, groups: Groups) -> IntArray | None:
        """Rows to keep if some are late (None: all in order); advances the newest times."""
        newest = self._newest
        first_late = times[groups.starts] < newest[groups.ids]
        step_back = np.zeros(times.shape[0], np.bool_)
        step_back[1:] = times[1:] < times[:-1]
        step_back[groups.starts] = False
        if not first_late.any() and not step_back.any():
            newest[groups.ids] = times[groups.last_rows]
            return None
        bad = first_late | np.logical_or.reduceat(step_back, groups.starts)
        late = np.zeros(times.shape[0], np.bool_)
        good = ~bad
        newest[groups.ids[good]] = times[groups.last_rows[good]]
        # Out-of-order instances are rare: a Python loop over just those is fine.
        for g in np.flatnonzero(bad).tolist():
            s, e = int(groups.starts[g]), int(groups.starts[g] + groups.counts[g])
            iid = int(groups.ids[g])
            seg = times[s:e]
            running = np.maximum.accumulate(np.concatenate(([newest[iid]], seg)))
            late[s:e] = seg < running[:-1]
            newest[iid] = running[-1]
        return np.flatnonzero(~late).astype(np.int64)

    def _window(
        self, i: int, arg: Scalar, times: IntArray, inst: IntArray, groups: Groups, m: int
    ) -> Vector:
        state = self._windows[i]
        rows = arg.valid_rows()
        if rows is None:
            return window_vector(state, arg.values, times, groups, None, m)
        if rows.shape[0] == 0:
            zeros = np.zeros(m, np.int64)
            return Vector(np.zeros(1, np.float64), zeros, zeros, np.zeros(m, np.bool_))
        sub = groups_of(inst[rows])
        return window_vector(state, arg.values[rows], times[rows], sub, rows, m)

    def _alert(
        self,
        i: int,
        op: AlertOp,
        env: list[Value | None],
        work: _Rows,
        keys: list[str],
        tags: list[dict[str, str]],
        found: list[tuple[int, int, AlertEvent]],
    ) -> None:
        """Evaluate one alert's levels and turn their changes into events."""
        times, inst, groups, order, bidx = work.times, work.inst, work.groups, work.order, work.bidx
        x = _scalar(env[op.value])
        thr = None if op.threshold_col is None else _scalar(env[op.threshold_col])
        valid = x.valid if thr is None else and_valid(x.valid, thr.valid)
        if valid is None:
            rows = None
            g, t, ins = groups, times, inst
        else:
            rows = np.flatnonzero(valid).astype(np.int64)
            if rows.shape[0] == 0:
                return
            t, ins = times[rows], inst[rows]
            g = groups_of(ins)

        def column(const: float | None, col: int | None) -> tuple[FloatArray, BoolArray | None]:
            """A literal or a column over the evaluated rows, and where it has a value."""
            if col is None:
                return np.full(t.shape[0], const if const is not None else 0.0), None
            c = _scalar(env[col])
            ok = c.valid if c.valid is None or rows is None else c.valid[rows]
            return (c.values if rows is None else c.values[rows]), ok

        xv, _ = column(None, op.value)
        tv, _ = column(op.threshold, op.threshold_col)
        compare = _COMPARE[op.op]
        codes = np.where(compare(xv, tv), LEVELS.index(op.level), 0).astype(np.int8)
        shown = {LEVELS.index(op.level): tv}  # the threshold each level's message names
        for lv in reversed(op.lower):  # a higher level wins, so lower ones fill in below
            level_values, ok = column(lv.value, lv.col)
            code = LEVELS.index(lv.level)
            if op.boolean:  # a condition, compared with the alert's threshold
                holds = compare(level_values, tv)
            else:  # a threshold for the alert's value
                holds = compare(xv, level_values)
                shown[code] = level_values
            if ok is not None:
                holds &= ok
            codes = np.where((codes == 0) & holds, code, codes).astype(np.int8)
        changed, new, old, durations = self._alerts[i].step(codes, t, ins, g)
        if changed.shape[0] == 0:
            return
        many = self.program.outputs > 1
        text = None if op.message_col is None else env[op.message_col]
        assert text is None or isinstance(text, Text), "planner guarantees a string column"
        events = zip(changed.tolist(), new.tolist(), old.tolist(), durations.tolist(), strict=True)
        for pos, level, was, dur in events:
            working = pos if rows is None else int(rows[pos])
            template = op.message
            if text is not None and (text.valid is None or text.valid[working]):
                template = str(text.values[working])
            row = int(order[working])
            k = int(bidx[row])
            key = keys[k]
            event = build_event(
                event_id=f"{self.plugin}:{key}#{op.index}" if many else f"{self.plugin}:{key}",
                plugin=self.plugin,
                instance=key,
                tags=tags[k],
                level=LEVELS[level],
                previous_level=LEVELS[was],
                value=float(xv[pos]),
                time=int(t[pos]),
                duration=int(dur),
                op=op.op,
                threshold=float(shown.get(level or was, tv)[pos]),
                template=template,
            )
            if level:
                self.stats.alerts_fired += 1
            else:
                self.stats.recoveries += 1
            found.append((row, op.index, event))

    # -- snapshots ---------------------------------------------------------------------------

    def snapshot(self) -> bytes:
        """All per-instance state (instance ids, window tails, alert levels), msgpack-encoded."""
        n = len(self._ids)
        windows = []
        for w in self._windows.values():
            lens, vals, tms = w.export(n)
            windows.append(
                _WindowSnap(
                    lens=lens.astype("<i8").tobytes(),
                    vals=vals.astype("<f8").tobytes(),
                    times=tms.astype("<i8").tobytes(),
                    seen=w.seen[:n].astype("<i8").tobytes(),
                    first=w.first[:n].astype("<i8").tobytes(),
                    next_emit=w.next_emit[:n].astype("<i8").tobytes()
                    if isinstance(w, HopWindowState)
                    else b"",
                )
            )
        alerts = [
            _AlertSnap(
                level=a.level[:n].astype("<i1").tobytes(),
                fired_at=a.fired_at[:n].astype("<i8").tobytes(),
            )
            for a in self._alerts.values()
        ]
        snap = _Snapshot(
            v=SNAPSHOT_VERSION,
            plugin=self.plugin,
            program=str(self.program),
            keys=list(self._ids),
            newest=self._newest[:n].astype("<i8").tobytes(),
            windows=windows,
            alerts=alerts,
            streams=[s.export(n) for s in self._streams.values()],
            deadman=self._deadman.export(n) if self._deadman else None,
        )
        return msgspec.msgpack.encode(snap)

    def restore(self, data: bytes) -> None:
        """Replace all state with a snapshot of a runtime of the same program.

        Raises CodecError for undecodable data and PluginError for a different program.
        """
        try:
            snap = msgspec.msgpack.decode(data, type=_Snapshot)
        except msgspec.DecodeError as e:
            raise CodecError(f"undecodable plugin snapshot: {e}") from e
        if snap.v != SNAPSHOT_VERSION:
            raise CodecError(f"unsupported snapshot version {snap.v}")
        if snap.program != str(self.program):
            raise PluginError(f"snapshot of plugin {snap.plugin!r} was taken for another program")
        if len(snap.streams) != len(self._streams):
            raise CodecError("snapshot does not match the program's stream functions")
        if len(snap.windows) != len(self._windows) or len(snap.alerts) != len(self._alerts):
            raise CodecError("snapshot does not match the program's operators")
        n = len(snap.keys)
        self._reset()
        self._ids = {k: i for i, k in enumerate(snap.keys)}
        self._key_bytes = sum(map(sys.getsizeof, self._ids))
        if len(self._ids) != n:
            raise CodecError("snapshot has duplicate instance keys")
        self._ensure(n)
        self._newest[:n] = _arr(snap.newest, "<i8", n)
        for w, ws in zip(self._windows.values(), snap.windows, strict=True):
            lens = _arr(ws.lens, "<i8", n)
            vals = _arr(ws.vals, "<f8")
            tms = _arr(ws.times, "<i8", vals.shape[0])
            if int(lens.sum()) != vals.shape[0] or (n and int(lens.min()) < 0):
                raise CodecError("snapshot window tails are inconsistent")
            w.load(lens, vals, tms)
            w.seen[:n] = _arr(ws.seen, "<i8", n)
            w.first[:n] = _arr(ws.first, "<i8", n)
            if isinstance(w, HopWindowState):
                w.next_emit[:n] = _arr(ws.next_emit, "<i8", n)
        for a, snap_a in zip(self._alerts.values(), snap.alerts, strict=True):
            a.level[:n] = _arr(snap_a.level, "<i1", n)
            a.fired_at[:n] = _arr(snap_a.fired_at, "<i8", n)
        for s, carried in zip(self._streams.values(), snap.streams, strict=True):
            s.load(n, carried)
        if self._deadman:
            if snap.deadman is None:
                raise CodecError("snapshot does not match the program's deadman() statements")
            self._deadman.load(snap.deadman, n)
            # A restore is a restart: count afresh from now, keeping which alerts fire.
            self._deadman.restart(self.clock.now_ns(), n)


def _array_bytes(state: object) -> int:
    """The bytes of the numpy arrays an engine state object holds (directly or in a dict)."""
    total = 0
    for v in vars(state).values():
        if isinstance(v, np.ndarray):
            total += v.nbytes
        elif isinstance(v, dict):
            total += sum(a.nbytes for a in v.values() if isinstance(a, np.ndarray))
    return total


def _scalar(v: Value | None) -> Scalar:
    assert isinstance(v, Scalar), "planner guarantees a scalar here"
    return v


def _vector(v: Value | None) -> Vector:
    assert isinstance(v, Vector), "planner guarantees a window here"
    return v


def _unary(op: str, a: Scalar) -> Scalar:
    if op == "-":
        return Scalar(-a.values, a.valid)
    return Scalar((a.values == 0).astype(np.float64), a.valid)


def _math(func: str, a: Scalar) -> Scalar:
    x = a.values
    if func == "abs":
        return Scalar(np.abs(x), a.valid)
    if func == "floor":
        return Scalar(np.floor(x), a.valid)
    if func == "ceil":
        return Scalar(np.ceil(x), a.valid)
    if func == "round":  # halves away from zero, like Go's math.Round
        return Scalar(np.copysign(np.floor(np.abs(x) + 0.5), x), a.valid)
    ok = x >= 0
    out = np.sqrt(x, out=np.zeros_like(x), where=ok)
    return Scalar(out, ok if a.valid is None else a.valid & ok)


def _binary(op: str, a: Scalar, b: Scalar) -> Scalar:
    """Arithmetic, comparison or logic on two columns; x/0 and x%0 yield no value."""
    valid = and_valid(a.valid, b.valid)
    x, y = a.values, b.values
    if op in _COMPARE:
        return Scalar(_COMPARE[op](x, y).astype(np.float64), valid)
    if op == "and":
        return Scalar(((x != 0) & (y != 0)).astype(np.float64), valid)
    if op == "or":
        return Scalar(((x != 0) | (y != 0)).astype(np.float64), valid)
    with np.errstate(all="ignore"):
        if op == "+":
            return Scalar(x + y, valid)
        if op == "-":
            return Scalar(x - y, valid)
        if op == "*":
            return Scalar(x * y, valid)
        nonzero = y != 0
        if op == "/":
            out = np.divide(x, y, out=np.zeros_like(x), where=nonzero)
        else:
            out = np.fmod(x, y, out=np.zeros_like(x), where=nonzero)
    return Scalar(out, nonzero if valid is None else valid & nonzero)


def _aggregate(op: AggOp, vec: Vector, m: int) -> Scalar:
    rows = np.flatnonzero(vec.valid)
    out = np.zeros(m, np.float64)
    valid = vec.valid.copy()
    if rows.shape[0] == 0:
        return Scalar(out, valid)
    if rows.shape[0] == m:
        lo, hi = vec.lo, vec.hi
    else:
        lo, hi = vec.lo[rows], vec.hi[rows]
    if bool((hi == lo).any()):  # empty windows: only windows with every=
        out[rows], valid[rows] = aggregate_with_empty(op.func, vec.ext, lo, hi, op.p)
        return Scalar(out, valid)
    values, ok = AGGREGATE_FUNCTIONS[op.func](vec.ext, lo, hi, op.p)
    out[rows] = values
    if ok is not None:
        valid[rows] = ok
    return Scalar(out, valid)
