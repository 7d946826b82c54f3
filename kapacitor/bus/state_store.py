"""Plugin runtime state on the bus, so an interpreter that restarts, or another that takes
over a partition, continues where the last one stopped.

Per partition (`PartitionStore`): the snapshots of every plugin's instances in the partition
and the MATCHED stream sequence they cover are one object in a JetStream object store (a
snapshot can outgrow a KV value), named by partition, owner and sequence; a KV key per
partition points at the current one. The pointer is moved only by compare-and-set, and a new
owner moves it when it takes the partition over, so an owner whose lease ran out while it was
saving finds the pointer moved and does not acknowledge what it saved: the server, not a
clock, fences it.

Per plugin (`StateStore`): what interpreters before partitions saved, read once when a
partition is first taken over.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import msgspec
from nats.js import JetStreamContext
from nats.js.errors import (
    KeyNotFoundError,
    NotFoundError,
    ObjectNotFoundError,
)
from nats.js.kv import KeyValue
from nats.js.object_store import ObjectStore

from kapacitor.bus import subjects
from kapacitor.bus.calls import on_bus
from kapacitor.bus.client import kv_bucket, state_bucket
from kapacitor.errors import BusError, CodecError, RevisionMismatch
from kapacitor.plugins.state import (
    PartitionState,
    StoredState,
    decode_partition_state,
    encode_partition_state,
)


class StateStore:
    """Per-plugin snapshots, as saved before partitions."""

    def __init__(self, obs: ObjectStore) -> None:
        self.obs = obs

    async def save(self, plugin: str, fingerprint: str, snapshot: bytes) -> None:
        await self.obs.put(plugin, msgspec.msgpack.encode(StoredState(fingerprint, snapshot)))

    async def load(self, plugin: str) -> StoredState | None:
        """The stored state of `plugin`, or None (never stored, or unreadable)."""
        try:
            result = await self.obs.get(plugin)
        except ObjectNotFoundError:
            return None
        try:
            return msgspec.msgpack.decode(result.data or b"", type=StoredState)
        except msgspec.DecodeError as e:
            raise CodecError(f"stored state of plugin {plugin!r} is unreadable: {e}") from e

    async def delete(self, plugin: str) -> None:
        with contextlib.suppress(ObjectNotFoundError, NotFoundError):
            await self.obs.delete(plugin)


class _Pointer(msgspec.Struct, frozen=True):
    obj: str  # '' before the first save
    owner: str  # who moved it last


@dataclass(slots=True)
class Held:
    """A partition's state as its owner took it over, and where its saves go on from."""

    partition: int
    token: int  # the pointer revision the next save must find
    obj: str  # the object the pointer names ('' none)
    state: PartitionState | None  # as taken over (None: never saved, or unreadable)
    problem: str = ""  # why the saved state could not be read


class PartitionStore:
    """Each partition's saved state; `take` it before saving (see the module doc)."""

    def __init__(self, obs: ObjectStore, pointers: KeyValue, service: str) -> None:
        self.obs = obs
        self.pointers = pointers
        self.service = service

    @classmethod
    async def open(cls, js: JetStreamContext, service: str) -> PartitionStore:
        return cls(await state_bucket(js), await kv_bucket(js, subjects.POINTERS_BUCKET), service)

    def _key(self, p: int) -> str:
        return subjects.partition_key(self.service, p)

    async def take(self, p: int, owner: str) -> Held:
        """Become the writer of partition `p`'s state and read it. RevisionMismatch if another
        owner moved the pointer meanwhile; BusError if NATS fails."""
        key = self._key(p)
        try:
            entry = await on_bus(
                self.pointers.get(key), f"reading {key}", missing=(KeyNotFoundError,)
            )
            revision, raw = entry.revision or 0, entry.value or b""
        except KeyNotFoundError:
            revision, raw = 0, b""
        try:
            pointer = msgspec.msgpack.decode(raw, type=_Pointer) if raw else _Pointer("", "")
        except msgspec.DecodeError:
            pointer = _Pointer("", "")
        held = Held(
            p, await self._move(key, _Pointer(pointer.obj, owner), revision), pointer.obj, None
        )
        if not pointer.obj:
            return held
        try:
            result = await on_bus(
                self.obs.get(pointer.obj), f"reading {pointer.obj}", missing=(ObjectNotFoundError,)
            )
            held.state = decode_partition_state(result.data or b"", f"partition {p}")
        except ObjectNotFoundError:
            held.problem = f"its saved state {pointer.obj} is missing"
        except CodecError as e:
            held.problem = str(e)
        return held

    async def save(self, held: Held, state: PartitionState, owner: str) -> None:
        """Store `state` and point at it. RevisionMismatch when the pointer is no longer where
        `held` left it (the partition has another owner: nothing may be acknowledged)."""
        key = self._key(held.partition)
        name = f"{key}.{state.seq}.{held.token}"
        await on_bus(self.obs.put(name, encode_partition_state(state)), f"saving {name}")
        try:
            held.token = await self._move(key, _Pointer(name, owner), held.token)
        except RevisionMismatch:
            await self._delete(name)
            raise
        old, held.obj = held.obj, name
        if old and old != name:
            await self._delete(old)

    async def _delete(self, name: str) -> None:
        with contextlib.suppress(BusError):  # a leftover object is only space
            await on_bus(self.obs.delete(name), f"deleting {name}")

    async def _move(self, key: str, pointer: _Pointer, revision: int) -> int:
        value = msgspec.msgpack.encode(pointer)
        if revision == 0:
            return await on_bus(self.pointers.create(key, value), f"creating {key}")
        return await on_bus(self.pointers.update(key, value, last=revision), f"moving {key}")
