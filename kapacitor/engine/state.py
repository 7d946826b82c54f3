"""One lifecycle for the per-instance state of stateful operators.

Windows (and shift, which reads one), stream functions, alert levels, deadman() and the
runtime's own arrival times all keep a few values per instance in arrays indexed by the
runtime's dense instance id. The runtime drives every one of them through `InstanceState`
alone: it grows them as instances appear, keeps a subset when instances expire, files their
snapshots and sizes them; only running a batch needs each operator's own interface.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

import msgspec

from kapacitor.engine.alert import AlertState
from kapacitor.engine.arrivals import Arrivals
from kapacitor.engine.deadman import DeadmanState
from kapacitor.engine.groups import IntArray
from kapacitor.engine.hop import HopWindowState
from kapacitor.engine.ops import AlertOp, CountWindowOp, TimeWindowOp
from kapacitor.engine.plan import Op, Program
from kapacitor.engine.shift import ShiftOp
from kapacitor.engine.snapshot import Section
from kapacitor.engine.stream import StreamOp, StreamState
from kapacitor.engine.window import WindowState


class InstanceState(Protocol):
    """Per-instance state in arrays indexed by instance id (0..n-1, dense)."""

    section: ClassVar[Section]  # where its part goes in a snapshot (snapshot.py)

    def ensure(self, n: int) -> None:
        """Make room for instance ids below n; new instances start afresh."""
        ...

    def keep(self, idx: IntArray) -> None:
        """Keep only the instances `idx` (ascending), renumbered 0..len-1 in that order."""
        ...

    def snapshot(self, n: int) -> msgspec.Raw:
        """The state of instances 0..n-1, encoded (its own format) for a snapshot."""
        ...

    def restore(self, data: msgspec.Raw, n: int) -> None:
        """Load the state of instances 0..n-1 from `snapshot(n)`'s data into this fresh
        state; CodecError if the data is not such a part."""
        ...

    def nbytes(self) -> int:
        """About the memory the state holds (its arrays)."""
        ...


def operator_state(op: Op) -> InstanceState | None:
    """A fresh state for `op`, or None for a stateless operator (deadman() statements share
    one DeadmanState, which the runtime makes: it starts counting at the runtime's clock)."""
    if isinstance(op, CountWindowOp):
        if op.every is not None:
            return HopWindowState(size=op.n, every=op.every)
        return WindowState(size=op.n)
    if isinstance(op, TimeWindowOp):
        if op.every_ns is not None:
            return HopWindowState(span_ns=op.span_ns, every_ns=op.every_ns, align=op.align)
        return WindowState(span_ns=op.span_ns)
    if isinstance(op, ShiftOp):
        return op.window()
    if isinstance(op, AlertOp):
        return AlertState(op.stepping())
    if isinstance(op, StreamOp):
        return StreamState(op)
    return None


def operator_states(program: Program) -> dict[int, InstanceState]:
    """Fresh states of the program's stateful operators, by operator index (plan order)."""
    states = {}
    for i, op in enumerate(program.ops):
        state = operator_state(op)
        if state is not None:
            states[i] = state
    return states


# mypy proves each state class implements the Protocol.
STATE_CLASSES: tuple[type[InstanceState], ...] = (
    WindowState,
    HopWindowState,
    AlertState,
    StreamState,
    DeadmanState,
    Arrivals,
)
