"""What is saved of running plugins: each plugin's snapshot under the definition it was taken
for, and per partition, the snapshots of every plugin's instances in it together with the
MATCHED stream sequence they cover (docs/cluster.md)."""

from __future__ import annotations

import msgspec

from kapacitor.errors import CodecError
from kapacitor.plugins.model import PluginStats


class StoredState(msgspec.Struct, frozen=True):
    """One plugin's runtime snapshot and the fingerprint of the definition it was taken under
    (`plugins.state_fingerprint`): restored only into the same definition."""

    fingerprint: str
    snapshot: bytes


class PartitionState(msgspec.Struct, frozen=True):
    """A partition's plugins' state, covering every MATCHED message of the partition up to
    stream sequence `seq` (those are acknowledged once this is saved) and nothing after."""

    seq: int
    plugins: dict[str, StoredState]
    # Each plugin's counters in the partition: they follow it, as consistent as its state.
    stats: dict[str, PluginStats] = msgspec.field(default_factory=dict)


def encode_partition_state(state: PartitionState) -> bytes:
    return msgspec.msgpack.encode(state)


def decode_partition_state(data: bytes, where: str) -> PartitionState:
    try:
        return msgspec.msgpack.decode(data, type=PartitionState)
    except msgspec.DecodeError as e:
        raise CodecError(f"saved state of {where} is unreadable: {e}") from e
