"""Plugin runtime state on the bus: each enabled plugin's snapshot (window tails, stream
function state, alert levels) in a JetStream object store, so an interpreter that restarts,
or another that takes over, continues where the last one stopped.

A snapshot is stored with the fingerprint of the definition it was taken under
(`plugins.state_fingerprint`); it is only restored into the same definition, so a plugin
that was re-defined, or deleted and defined again, starts afresh.
"""

from __future__ import annotations

import msgspec
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError, ObjectNotFoundError
from nats.js.object_store import ObjectStore

from kapacitor.bus import subjects
from kapacitor.errors import CodecError


class StoredState(msgspec.Struct, frozen=True):
    fingerprint: str
    snapshot: bytes


async def state_bucket(js: JetStreamContext) -> ObjectStore:
    try:
        return await js.object_store(subjects.STATE_BUCKET)
    except NotFoundError:
        return await js.create_object_store(subjects.STATE_BUCKET)


class StateStore:
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
        try:
            await self.obs.delete(plugin)
        except (ObjectNotFoundError, NotFoundError):
            pass
