"""The snapshot codec: a runtime's state as one msgpack document.

A snapshot holds a header (format version, plugin, program text, instance keys) and one
*part* per per-instance state, each encoded by the state itself (`InstanceState.snapshot`).
Parts are filed in *sections* (the document's fields), in the order the program creates the
states: `newest` (the runtime's newest point time per instance), `windows` (windows and
shift), `alerts`, `streams` (stream functions) and `deadman`. The layout is the one version 2
always had, so snapshots written before the states shared one lifecycle restore unchanged
(tests/kapacitor/engine/golden/snapshot_v2.msgpack pins it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import msgspec
import numpy as np
import numpy.typing as npt

from kapacitor.errors import CodecError

SNAPSHOT_VERSION = 2  # 2: alert levels instead of firing bits

Section = Literal["newest", "windows", "alerts", "streams", "deadman"]
_SINGLE: tuple[Section, ...] = ("newest", "deadman")  # exactly one part each
_NIL = msgspec.Raw(b"\xc0")  # msgpack nil: a program without deadman()

_T = TypeVar("_T")


class _Snapshot(msgspec.Struct, frozen=True):
    v: int
    plugin: str
    program: str
    keys: list[str]
    newest: msgspec.Raw
    windows: list[msgspec.Raw]
    alerts: list[msgspec.Raw]
    streams: list[msgspec.Raw] = msgspec.field(default_factory=list)
    deadman: msgspec.Raw = _NIL


class _Header(msgspec.Struct, frozen=True):
    v: int


@dataclass(frozen=True, slots=True)
class Saved:
    """A decoded snapshot: its header and its parts by section (not yet decoded)."""

    plugin: str
    program: str
    keys: list[str]
    sections: dict[Section, list[msgspec.Raw]]

    def parts_for(self, sections: Sequence[Section]) -> list[msgspec.Raw]:
        """The parts of states filed in `sections` (one entry per state, in state order).

        Raises CodecError if the snapshot holds another number of parts in some section.
        """
        want = Counter(sections)
        for section, parts in self.sections.items():
            if len(parts) != want[section]:
                raise CodecError(
                    f"snapshot does not match the program's operators ({section}: "
                    f"{len(parts)} saved, {want[section]} expected)"
                )
        taken = dict.fromkeys(self.sections, 0)
        out = []
        for section in sections:
            out.append(self.sections[section][taken[section]])
            taken[section] += 1
        return out


def encode(
    plugin: str, program: str, keys: list[str], parts: Sequence[tuple[Section, msgspec.Raw]]
) -> bytes:
    """One snapshot document of the states' `parts` (filed by section, in state order)."""
    filed: dict[Section, list[msgspec.Raw]] = {
        "newest": [],
        "windows": [],
        "alerts": [],
        "streams": [],
        "deadman": [],
    }
    for section, part in parts:
        filed[section].append(part)
    assert all(len(filed[s]) == 1 for s in _SINGLE), "one part in each single section"
    snap = _Snapshot(
        v=SNAPSHOT_VERSION,
        plugin=plugin,
        program=program,
        keys=keys,
        newest=filed["newest"][0],
        windows=filed["windows"],
        alerts=filed["alerts"],
        streams=filed["streams"],
        deadman=filed["deadman"][0],
    )
    return msgspec.msgpack.encode(snap)


def decode(data: bytes) -> Saved:
    """The header and parts of a snapshot; CodecError if undecodable or of another version."""
    try:
        version = msgspec.msgpack.decode(data, type=_Header).v
        if version != SNAPSHOT_VERSION:
            raise CodecError(f"unsupported snapshot version {version}")
        snap = msgspec.msgpack.decode(data, type=_Snapshot)
    except msgspec.DecodeError as e:
        raise CodecError(f"undecodable plugin snapshot: {e}") from e
    return Saved(
        snap.plugin,
        snap.program,
        snap.keys,
        {
            "newest": [snap.newest],
            "windows": snap.windows,
            "alerts": snap.alerts,
            "streams": snap.streams,
            "deadman": [snap.deadman],
        },
    )


def encode_part(part: object) -> msgspec.Raw:
    """A state's part, ready to be filed in a snapshot."""
    return msgspec.Raw(msgspec.msgpack.encode(part))


def decode_part(data: msgspec.Raw, kind: type[_T]) -> _T:
    """A state's part of type `kind`; CodecError if it is not one."""
    try:
        return msgspec.msgpack.decode(data, type=kind)
    except msgspec.DecodeError as e:
        raise CodecError(f"undecodable plugin snapshot: {e}") from e


def array_from(data: bytes, dtype: str, n: int | None = None) -> npt.NDArray[Any]:
    """A (writable) array saved as `data`; CodecError unless it has `n` entries (if given)."""
    if len(data) % np.dtype(dtype).itemsize:
        raise CodecError(f"snapshot array of {dtype} is truncated")
    out = np.frombuffer(data, dtype=dtype).copy()
    if n is not None and out.shape[0] != n:
        raise CodecError(f"snapshot array has {out.shape[0]} entries, expected {n}")
    return out
