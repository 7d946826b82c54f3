"""Evaluating one alert() over a batch: each row's level, and events where levels change.

A row's level is the highest whose condition holds: the alert's own (`value op threshold`),
else the lower levels' (warn=, info=) from the highest down; OK if none does. An alert with
resets, flapping detection or events beyond level changes steps row by row
(AlertState.step_each), the others all at once (AlertState.step). Rows where the
value or the threshold has no value are not evaluated (they neither raise nor clear). The
level changes (alert.AlertState) become `AlertEvent`s, placed by their batch row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kapacitor.engine.alert import LEVELS, AlertState
from kapacitor.engine.columns import Text, Value, and_valid
from kapacitor.engine.events import AlertEvent, alert_id, build_event
from kapacitor.engine.groups import BoolArray, FloatArray, Groups, IntArray, groups_of
from kapacitor.engine.kernels import COMPARE, scalar
from kapacitor.engine.ops import AlertOp

# The comparison a reset threshold is passed by: the alert's own, facing the other way.
MIRRORED = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "!=", "!=": "=="}


@dataclass(frozen=True, slots=True)
class Rows:
    """The working rows of a batch: sorted by instance, with their batch row and instance."""

    times: IntArray
    inst: IntArray
    groups: Groups
    order: IntArray  # batch row of each working row
    bidx: IntArray  # batch instance index of each batch row


def evaluate_alert(
    op: AlertOp,
    state: AlertState,
    env: list[Value | None],
    work: Rows,
    keys: list[str],
    tags: list[dict[str, str]],
    plugin: str,
    many: bool,
) -> list[tuple[int, int, AlertEvent]]:
    """Advance `state` by the alert's level on each row; the events of its level changes as
    (batch row, statement index, event), in working row order. `many`: the plugin has more
    than one alert()/deadman() statement, so event ids name the statement."""
    times, inst, groups, order, bidx = work.times, work.inst, work.groups, work.order, work.bidx
    x = scalar(env[op.value])
    thr = None if op.threshold_col is None else scalar(env[op.threshold_col])
    valid = x.valid if thr is None else and_valid(x.valid, thr.valid)
    if valid is None:
        rows = None
        g, t, ins = groups, times, inst
    else:
        rows = np.flatnonzero(valid).astype(np.int64)
        if rows.shape[0] == 0:
            return []
        t, ins = times[rows], inst[rows]
        g = groups_of(ins)

    def column(const: float | None, col: int | None) -> tuple[FloatArray, BoolArray | None]:
        """A literal or a column over the evaluated rows, and where it has a value."""
        if col is None:
            return np.full(t.shape[0], const if const is not None else 0.0), None
        c = scalar(env[col])
        ok = c.valid if c.valid is None or rows is None else c.valid[rows]
        return (c.values if rows is None else c.values[rows]), ok

    xv, _ = column(None, op.value)
    tv, _ = column(op.threshold, op.threshold_col)
    compare = COMPARE[op.op]
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
    if op.stepwise:
        resets = {}
        for lv in op.resets:
            reset_values, ok = column(lv.value, lv.col)
            if op.boolean:  # a condition that, holding, lets the level drop
                drop = compare(reset_values, tv)
            else:  # the value is back past the reset threshold: cpu > 90, reset=70: < 70
                drop = COMPARE[MIRRORED[op.op]](xv, reset_values)
            resets[LEVELS.index(lv.level)] = drop if ok is None else drop & ok
        changed, new, old, durations = state.step_each(codes, resets, t, ins)
    else:
        changed, new, old, durations = state.step(codes, t, ins, g)
    if changed.shape[0] == 0:
        return []
    text = None if op.message_col is None else env[op.message_col]
    assert text is None or isinstance(text, Text), "planner guarantees a string column"
    found = []
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
            event_id=alert_id(plugin, key, op.index, many),
            plugin=plugin,
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
            topic=op.topic,
            id_template=op.id_template,
            details=op.details,
            category=op.category,
            recoverable=not op.no_recoveries,
        )
        found.append((row, op.index, event))
    return found
