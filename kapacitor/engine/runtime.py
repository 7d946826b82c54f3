"""Running a planned plugin over point batches, with per-instance state.

`PluginRuntime.process` takes one columnar batch and the instance of every row and runs the
program's operators over whole columns:

1. Rows are stably sorted by instance, so each instance's rows are one run in arrival order.
2. If the program has a time window, *late* rows (time below the newest time of an earlier,
   not-late row of the instance) are dropped and counted.
3. Each field the program reads becomes a column that has a value only on rows carrying the
   field as int/uint/float; on the other rows everything computed from it has no value (so the
   row does not enter windows over it). Rows lacking any read field count as *skipped*.
4. Operators run in plan order over those working rows (the dispatch names every kind of
   operator: mypy proves none is missed); stateful ones carry state per instance in arrays
   indexed by a dense id the runtime gives each instance key it sees rows of.
5. Alert state changes become `AlertEvent`s, returned in batch row order (then alert order).

This module is the driver only: the core operators' kernels are in kernels.py, alert()
evaluation in evaluate_alert.py, the snapshot codec in snapshot.py, and every per-instance
state is an `InstanceState` (state.py) that the runtime grows, expires, saves and sizes through
that Protocol alone. `evaluate` returns the columns a batch computed, for tests.

Nothing here reads the wall clock: `now()` and `stats.last_batch_ns` ask `clock`, once per batch.
"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, assert_never

import numpy as np
import numpy.typing as npt

from kapacitor.clock import Clock, ManualClock
from kapacitor.dsl.tokens import format_ns
from kapacitor.engine import snapshot as codec
from kapacitor.engine.alert import LEVELS, AlertState
from kapacitor.engine.arrivals import Arrivals
from kapacitor.engine.columns import Scalar, Text, Value, and_valid
from kapacitor.engine.deadman import DeadmanOp, DeadmanState
from kapacitor.engine.evaluate_alert import Rows, evaluate_alert
from kapacitor.engine.events import (
    FORGOTTEN,
    AlertEvent,
    RaisedAlert,
    alert_id,
    build_event,
    instance_alert_id,
)
from kapacitor.engine.forecast import ForecastOp, apply_forecast
from kapacitor.engine.groups import BoolArray, Groups, IntArray, groups_of
from kapacitor.engine.kernels import (
    apply_aggregate,
    apply_binary,
    apply_math,
    apply_unary,
    scalar,
    vector,
)
from kapacitor.engine.ops import (
    AggOp,
    AlertOp,
    BinaryOp,
    ConstOp,
    CountWindowOp,
    FieldOp,
    MathOp,
    TimeOp,
    TimeWindowOp,
    UnaryOp,
)
from kapacitor.engine.outputs import Output, OutputOp, output_batch
from kapacitor.engine.plan import Program
from kapacitor.engine.scalar import FuncOp, RowContext, read_field
from kapacitor.engine.scalar import evaluate as evaluate_func
from kapacitor.engine.shift import ShiftOp, shifted
from kapacitor.engine.state import InstanceState, operator_states
from kapacitor.engine.stream import StreamOp, StreamState
from kapacitor.engine.vecfuncs import VecOp, apply_vector
from kapacitor.engine.window import WindowState, window_column
from kapacitor.errors import CodecError, PluginError
from kapacitor.lineprotocol.scan import parse_key
from kapacitor.model.batch import FieldType, PointBatch

_NUMERIC = (FieldType.FLOAT, FieldType.INT, FieldType.UINT)
_S = TypeVar("_S")


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
    instances the runtime had no room for (`max_instances`). `rows[i]` is the batch row that
    caused `events[i]`. `outputs`: what each output statement wrote, as points.
    """

    events: list[AlertEvent]
    points: int
    skipped: int
    late: int = 0
    refused: int = 0
    rows: list[int] = field(default_factory=list)
    outputs: list[Output] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One batch run through a program: its outcome and every column the program computed.

    `columns[i]` is column `%i` over the batch's working rows (None for alert() and
    deadman(), and an empty list when no row was left to work on); `rows[w]` is the batch
    row of working row w.
    """

    result: ProcessResult
    columns: list[Value | None]
    rows: IntArray
    size: int  # rows in the batch

    def by_row(self, i: int) -> list[object]:
        """Column `%i` per batch row: its value, or None where the row has none."""
        out: list[object] = [None] * self.size
        if not self.columns:
            return out
        col = self.columns[i]
        assert isinstance(col, Scalar | Text), "a window has no value per row"
        for w, row in enumerate(self.rows.tolist()):
            if col.valid is None or col.valid[w]:
                out[row] = col.values[w].item() if isinstance(col, Scalar) else col.values[w]
        return out


def evaluate(
    program: Program,
    batch: PointBatch,
    instance_idx: npt.NDArray[np.integer[Any]],
    instance_keys: list[str],
    instance_tags: list[dict[str, str]],
    *,
    plugin: str = "plugin",
    clock: Clock | None = None,
) -> Evaluation:
    """Run one batch through a fresh runtime of `program` (the clock: `ManualClock(0)` unless
    given); see `PluginRuntime.evaluate`."""
    runtime = PluginRuntime(plugin, program, clock or ManualClock())
    return runtime.evaluate(batch, instance_idx, instance_keys, instance_tags)


class PluginRuntime:
    """One plugin's program plus the state of all its instances."""

    def __init__(self, plugin: str, program: Program, clock: Clock, max_instances: int = 0) -> None:
        self.plugin = plugin
        self.program = program.for_plugin(plugin)
        self.clock = clock
        # None: no limit. A host running one plugin in several runtimes sets it before each
        # batch, to what the plugin's limit leaves this runtime (0: no new instance).
        self.max_instances: int | None = max_instances or None
        self.stats = RuntimeStats()
        self._reset()

    def _reset(self) -> None:
        self._ids: dict[str, int] = {}
        self._key_bytes = 0  # what the instance keys hold, kept as keys come and go
        self._capacity = 0
        self._arrivals = Arrivals(self.clock)
        self._deadman = DeadmanState(self.program.deadmen, self.clock.now_ns())
        self._op_states = operator_states(self.program)
        self._states: list[InstanceState] = [
            self._arrivals,
            *self._op_states.values(),
            self._deadman,
        ]

    @property
    def instance_count(self) -> int:
        return len(self._ids)

    @property
    def states(self) -> tuple[InstanceState, ...]:
        """Every per-instance state: the runtime's arrivals, then each stateful operator's in
        plan order, then deadman()'s (replaced by `restore` and `expire`)."""
        return tuple(self._states)

    def _state(self, i: int, kind: type[_S]) -> _S:
        state = self._op_states[i]
        assert isinstance(state, kind), "operator_states() made the state for this op"
        return state

    def _ensure(self, n: int) -> None:
        if n <= self._capacity:
            return
        cap = max(n, 2 * self._capacity, 64)
        for state in self._states:
            state.ensure(cap)
        self._capacity = cap

    def process(
        self,
        batch: PointBatch,
        instance_idx: npt.NDArray[np.integer[Any]],
        instance_keys: list[str],
        instance_tags: list[dict[str, str]],
    ) -> ProcessResult:
        """Run one batch; `instance_idx[i]` indexes `instance_keys`/`instance_tags` for row i."""
        return self.evaluate(batch, instance_idx, instance_keys, instance_tags).result

    def evaluate(
        self,
        batch: PointBatch,
        instance_idx: npt.NDArray[np.integer[Any]],
        instance_keys: list[str],
        instance_tags: list[dict[str, str]],
    ) -> Evaluation:
        """`process`, also returning the columns the program computed (tests read them)."""
        try:
            evaluation = self._run(batch, instance_idx, instance_keys, instance_tags)
        except Exception:
            self.stats.errors += 1
            raise
        result = evaluation.result
        stats = self.stats
        stats.batches += 1
        stats.last_batch_ns = self.clock.now_ns()
        stats.points_processed += result.points
        stats.points_skipped += result.skipped
        stats.points_late += result.late
        stats.points_refused += result.refused
        for event in result.events:
            if event.level == "OK":
                stats.recoveries += 1
            else:
                stats.alerts_fired += 1
        return evaluation

    def _run(
        self,
        batch: PointBatch,
        instance_idx: npt.NDArray[np.integer[Any]],
        instance_keys: list[str],
        instance_tags: list[dict[str, str]],
    ) -> Evaluation:
        n = len(batch)
        size = n
        nothing: IntArray = np.zeros(0, np.int64)
        bidx = np.asarray(instance_idx, dtype=np.int64)
        if bidx.shape != (n,):
            raise PluginError(f"instance_idx has shape {bidx.shape}, the batch has {n} rows")
        if len(instance_tags) != len(instance_keys):
            raise PluginError("instance_keys and instance_tags differ in length")
        if n == 0:
            return Evaluation(ProcessResult([], 0, 0), [], nothing, size)
        if int(bidx.min()) < 0 or int(bidx.max()) >= len(instance_keys):
            raise PluginError("instance_idx points outside instance_keys")

        ids = self._ids
        # Only keys that have rows get a (persistent) id: one dict lookup per instance, not row.
        used = np.flatnonzero(np.bincount(bidx, minlength=len(instance_keys)))
        key_ids = np.full(len(instance_keys), -1, np.int64)
        known = len(ids)
        limit = self.max_instances
        if limit is not None and known + used.shape[0] > limit:
            key_ids[used] = self._admit([instance_keys[k] for k in used.tolist()], limit)
            used = used[key_ids[used] >= 0]
        else:
            key_ids[used] = [ids.setdefault(instance_keys[k], len(ids)) for k in used.tolist()]
        if len(ids) > known:
            self._key_bytes += sum(
                map(sys.getsizeof, itertools.islice(reversed(ids), len(ids) - known))
            )
        self._ensure(len(ids))
        self._arrivals.seen(key_ids[used])
        inst_all = key_ids[bidx]

        order = np.argsort(inst_all, kind="stable")
        refused = 0
        if int(inst_all[order[0]]) < 0:
            refused = int(np.count_nonzero(inst_all < 0))  # sorted first: cut them off
            order = order[refused:]
            n -= refused
            if n == 0:
                return Evaluation(ProcessResult([], 0, 0, 0, refused), [], nothing, size)
        inst = inst_all[order]
        times = batch.time[order].astype(np.int64, copy=False)
        groups = groups_of(inst)
        if self._deadman:
            self._observe(groups, key_ids, used, instance_tags)
        late = 0
        if self.program.has_time_window:
            keep = self._arrivals.drop_late(times, groups)
            if keep is not None:
                late = n - int(keep.shape[0])
                order, inst, times = order[keep], inst[keep], times[keep]
                groups = groups_of(inst)
        m = int(order.shape[0])
        if m == 0:
            return Evaluation(ProcessResult([], 0, 0, late, refused), [], nothing, size)
        fields, complete = self._read_fields(batch, order)
        skipped = m - (m if complete is None else int(np.count_nonzero(complete)))
        now = float(self.clock.now_ns())

        found: list[tuple[int, int, AlertEvent]] = []
        outputs: list[Output] = []
        measurements: tuple[IntArray, list[str]] | None = None
        env: list[Value | None] = []
        for i, op in enumerate(self.program.ops):
            if isinstance(op, FieldOp):
                env.append(fields[op.name])
            elif isinstance(op, TimeOp):
                env.append(Scalar(np.full(m, now) if op.now else times.astype(np.float64)))
            elif isinstance(op, MathOp):
                env.append(apply_math(op.func, scalar(env[op.arg])))
            elif isinstance(op, ConstOp):
                env.append(Scalar(np.full(m, op.value, np.float64)))
            elif isinstance(op, UnaryOp):
                env.append(apply_unary(op.op, scalar(env[op.arg])))
            elif isinstance(op, BinaryOp):
                env.append(apply_binary(op.op, scalar(env[op.left]), scalar(env[op.right])))
            elif isinstance(op, CountWindowOp | TimeWindowOp):
                window = self._state(i, WindowState)
                env.append(window_column(window, scalar(env[op.arg]), times, inst, groups))
            elif isinstance(op, StreamOp):
                stream = self._state(i, StreamState)
                env.append(stream.apply(scalar(env[op.arg]), times, inst, groups))
            elif isinstance(op, ShiftOp):
                window = self._state(i, WindowState)
                vec = window_column(window, scalar(env[op.arg]), times, inst, groups)
                env.append(shifted(op, vec))
            elif isinstance(op, AggOp):
                env.append(apply_aggregate(op, vector(env[op.arg]), m))
            elif isinstance(op, ForecastOp):
                env.append(apply_forecast(op, vector(env[op.arg])))
            elif isinstance(op, VecOp):
                env.append(apply_vector(op, vector(env[op.arg])))
            elif isinstance(op, FuncOp):
                ctx = RowContext(batch, order, bidx, times, instance_tags)
                env.append(evaluate_func(op, [env[j] for j in op.args], ctx))
            elif isinstance(op, OutputOp):
                env.append(None)
                if measurements is None:
                    measurements = _measurements(batch, order)
                written = output_batch(
                    op,
                    env[op.value],
                    measurements[0],
                    measurements[1],
                    times,
                    bidx[order],
                    instance_tags,
                    batch.db,
                    batch.rp,
                )
                if written is not None:
                    outputs.append(Output(op, written))
            elif isinstance(op, DeadmanOp):
                env.append(None)  # driven by on_timer(); rows are counted above
            elif isinstance(op, AlertOp):
                env.append(None)
                found += evaluate_alert(
                    op,
                    self._state(i, AlertState),
                    env,
                    Rows(times, inst, groups, order, bidx),
                    instance_keys,
                    instance_tags,
                    self.plugin,
                    self.program.alert_count > 1,
                )
            else:
                assert_never(op)
        found.sort(key=lambda e: (e[0], e[1]))
        result = ProcessResult(
            [e[2] for e in found],
            m - skipped,
            skipped,
            late,
            refused,
            [e[0] for e in found],
            outputs,
        )
        return Evaluation(result, env, order, size)

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
        return self.expire_with_events(idle_ns)[0]

    def expire_with_events(self, idle_ns: int) -> tuple[int, list[AlertEvent]]:
        """`expire`, and an event for each alert that was not OK in an instance it forgot:
        level OK, `expired` set, the message saying it is no longer watched (the receivers
        of the alert would otherwise wait for a recovery that never comes)."""
        n = len(self._ids)
        if self._deadman or n == 0:
            return 0, []
        keep = self._arrivals.idle(n, idle_ns)
        if keep.shape[0] == n:
            return 0, []
        gone = np.ones(n, np.bool_)
        gone[keep] = False
        events = self._forgotten(gone, idle_ns)
        return self._keep(keep), events

    def _forgotten(self, gone: BoolArray, idle_ns: int) -> list[AlertEvent]:
        keys = list(self._ids)
        now = self.clock.now_ns()
        many = self.program.alert_count > 1
        out = []
        for i, op in enumerate(self.program.ops):
            if not isinstance(op, AlertOp):
                continue
            state = self._state(i, AlertState)
            level = state.level[: len(keys)]
            for iid in np.flatnonzero(gone & (level != 0)).tolist():
                key = keys[iid]
                was = LEVELS[int(level[iid])]
                fired_at = int(state.fired_at[iid])
                out.append(
                    build_event(
                        event_id=alert_id(self.plugin, key, op.index, many),
                        plugin=self.plugin,
                        instance=key,
                        tags=dict(parse_key(key).tags),
                        level="OK",
                        previous_level=was,
                        value=math.nan,  # no point: null in the document
                        time=now,
                        duration=now - fired_at,
                        op=op.op,
                        threshold=op.threshold if op.threshold is not None else math.nan,
                        template=FORGOTTEN.replace("{idle}", format_ns(idle_ns)),
                        change=fired_at,  # names the event: one per episode forgotten
                        topic=op.topic,
                        id_template=op.id_template,
                        details=op.details,
                        category=op.category,
                        recoverable=not op.no_recoveries,
                        expired=True,
                    )
                )
        return out

    def retain(self, keep: Callable[[str], bool]) -> int:
        """Keep only the instances whose key `keep` accepts (a partition's, when state saved
        for a whole plugin is split by partition); how many went."""
        return self._keep(np.asarray([i for k, i in self._ids.items() if keep(k)], np.int64))

    def _keep(self, idx: IntArray) -> int:
        """Keep the instances `idx` (ascending ids), renumbered; how many went."""
        n = len(self._ids)
        if idx.shape[0] == n:
            return 0
        keys = list(self._ids)
        self._ids = {keys[i]: j for j, i in enumerate(idx.tolist())}
        for state in self._states:
            state.keep(idx)
        self._capacity = int(idx.shape[0])
        self._key_bytes = sum(map(sys.getsizeof, self._ids))
        return n - self._capacity

    def state_bytes(self) -> int:
        """About the memory the instances' state holds: every state array (window pools
        included) and the instance keys; constant time."""
        arrays = sum(state.nbytes() for state in self._states)
        return arrays + self._key_bytes + sys.getsizeof(self._ids)

    def raised(self) -> list[RaisedAlert]:
        """Every alert of an instance that is not OK now (`kapacitor alerts`)."""
        keys = list(self._ids)
        n = len(keys)
        many = self.program.alert_count > 1
        out = self._deadman.raised(self.plugin, keys, many) if self._deadman else []
        for i, op in enumerate(self.program.ops):
            if not isinstance(op, AlertOp):
                continue
            state = self._state(i, AlertState)
            for iid in np.flatnonzero(state.level[:n]).tolist():
                key = keys[iid]
                tags = dict(parse_key(key).tags)
                out.append(
                    RaisedAlert(
                        id=instance_alert_id(
                            op.id_template, self.plugin, key, op.index, many, tags, op.topic
                        ),
                        plugin=self.plugin,
                        instance=key,
                        tags=tags,
                        level=LEVELS[int(state.level[iid])],
                        since=int(state.fired_at[iid]),
                        topic=op.topic,
                        category=op.category,
                    )
                )
        return out

    def inhibitors(self) -> list[tuple[str, dict[str, str]]]:
        """(category, the instance's values of its inhibit_tags) of every raised instance of
        an alert() or deadman() with inhibit=, once each."""
        keys = list(self._ids)
        n = len(keys)
        found: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, str]] = {}

        def add(category: str, tag_keys: tuple[str, ...], tags: dict[str, str]) -> None:
            picked = {k: tags.get(k, "") for k in tag_keys}
            found.setdefault((category, tuple(sorted(picked.items()))), picked)

        for i, op in enumerate(self.program.ops):
            if isinstance(op, AlertOp) and op.inhibit:
                state = self._state(i, AlertState)
                for iid in np.flatnonzero(state.level[:n]).tolist():
                    add(op.inhibit, op.inhibit_tags, dict(parse_key(keys[iid]).tags))
        for op, _, _, tags in self._deadman.raised_instances(n):
            if op.inhibit:
                add(op.inhibit, op.inhibit_tags, tags)
        return [(category, tags) for (category, _), tags in found.items()]

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
            now_ns, self.plugin, list(self._ids), self.program.alert_count > 1
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
                number = Scalar(np.zeros(m, np.float64), np.zeros(m, np.bool_))
            else:
                present = None if col.present is None else col.present[order]
                number = Scalar(col.values[order].astype(np.float64), present)
            out[name] = number
            complete = and_valid(complete, number.valid)
        return out, complete

    # -- snapshots ---------------------------------------------------------------------------

    def snapshot(self) -> bytes:
        """All per-instance state (instance ids, window tails, alert levels...), msgpack."""
        n = len(self._ids)
        parts = [(state.section, state.snapshot(n)) for state in self._states]
        return codec.encode(self.plugin, str(self.program), list(self._ids), parts)

    def restore(self, data: bytes) -> None:
        """Replace all state with a snapshot of a runtime of the same program.

        Raises CodecError for undecodable or inconsistent data and PluginError for another
        program; the runtime then holds no instances, as if new.
        """
        try:
            self._restore(data)
        except (CodecError, PluginError):
            self._reset()
            raise

    def _restore(self, data: bytes) -> None:
        saved = codec.decode(data)
        if saved.program != str(self.program):
            raise PluginError(f"snapshot of plugin {saved.plugin!r} was taken for another program")
        self._reset()
        parts = saved.parts_for([state.section for state in self._states])
        n = len(saved.keys)
        self._ids = {k: i for i, k in enumerate(saved.keys)}
        if len(self._ids) != n:
            raise CodecError("snapshot has duplicate instance keys")
        self._key_bytes = sum(map(sys.getsizeof, self._ids))
        self._ensure(n)
        for state, part in zip(self._states, parts, strict=True):
            state.restore(part, n)


def _measurements(batch: PointBatch, order: IntArray) -> tuple[IntArray, list[str]]:
    """The measurement of each working row, as an index into the names returned."""
    names: dict[str, int] = {}
    codes = np.array(
        [names.setdefault(key.measurement, len(names)) for key in batch.series], np.int64
    )
    return codes[batch.series_idx[order]], list(names)
