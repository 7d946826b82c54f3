"""A JetStream key-value bucket whose keys expire: per-message TTL and compare-and-set, the
two things membership and partition leases are made of (docs/cluster.md).

nats-py's KeyValue API is not enough for this, so writes here are raw publishes to the
bucket's subjects:
- `kv.update` cannot set a TTL (a key renewed with it would never expire);
- while the server's expiry marker for a key exists, `kv.get` returns an entry without a value
  and `kv.create` fails, so whether a key is free is read from the key's last message.
The bucket is created with `limit_marker_ttl`: without it per-message TTL is not allowed and
expiry is silent to watchers.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import NotFoundError
from nats.js.kv import KeyValue

from kapacitor.bus.calls import on_bus

# How long the server keeps a key's expiry marker (so watchers see the expiry); whole seconds.
MARKER_TTL = 1
H_EXPECTED_LAST = "Nats-Expected-Last-Subject-Sequence"
H_MARKER_REASON = "Nats-Marker-Reason"  # on the message the server writes when a key expires
H_KV_OPERATION = "KV-Operation"  # DEL or PURGE on a deleted key


def ttl_seconds(seconds: float) -> int:
    """A TTL the server accepts (whole seconds, at least 1), never shorter than asked."""
    return max(1, math.ceil(seconds))


@dataclass(frozen=True, slots=True)
class KeyState:
    """The last message of a key: `revision` (0: never written) and whether it holds a value
    (False once deleted or expired)."""

    revision: int
    live: bool


@dataclass(frozen=True, slots=True)
class KeyChange:
    """A watched key written (`value` set) or gone (`value` None: deleted or expired)."""

    key: str
    value: bytes | None
    revision: int


class TtlKv:
    def __init__(self, js: JetStreamContext, kv: KeyValue, bucket: str) -> None:
        self.js = js
        self.kv = kv
        self.bucket = bucket
        self.stream = f"KV_{bucket}"

    @classmethod
    async def open(cls, js: JetStreamContext, bucket: str, replicas: int = 1) -> TtlKv:
        """The bucket, created (in memory: nothing in it outlives a TTL) if missing."""
        try:
            kv = await js.key_value(bucket)
        except NotFoundError:
            kv = await js.create_key_value(
                KeyValueConfig(
                    bucket=bucket,
                    history=1,
                    storage=StorageType.MEMORY,
                    limit_marker_ttl=MARKER_TTL,
                    replicas=replicas,
                )
            )
        return cls(js, kv, bucket)

    def _subject(self, key: str) -> str:
        return f"$KV.{self.bucket}.{key}"

    async def put(self, key: str, value: bytes, ttl: int) -> int:
        """Write `key` unconditionally, to expire `ttl` seconds after this write; its revision."""
        ack = await on_bus(
            self.js.publish(self._subject(key), value, msg_ttl=ttl), f"put {self.bucket}/{key}"
        )
        return ack.seq

    async def compare_and_set(
        self, key: str, value: bytes, last: int, ttl: int, *, timeout: float | None = None
    ) -> int:
        """Write `key` only if its last message is still revision `last` (0: never written);
        the new revision, or RevisionMismatch (BusError past `timeout` seconds, when given)."""
        ack = await on_bus(
            self.js.publish(
                self._subject(key),
                value,
                headers={H_EXPECTED_LAST: str(last)},
                msg_ttl=ttl,
                timeout=timeout,
            ),
            f"set {self.bucket}/{key} at revision {last}",
        )
        return ack.seq

    async def state(self, key: str, *, timeout: float | None = None) -> KeyState:
        """The key's last message (BusError past `timeout` seconds, when given)."""
        try:
            msg = await on_bus(
                asyncio.wait_for(self.js.get_last_msg(self.stream, self._subject(key)), timeout),
                f"read {self.bucket}/{key}",
                missing=(NotFoundError,),
            )
        except NotFoundError:
            return KeyState(0, False)
        headers = msg.headers or {}
        gone = H_MARKER_REASON in headers or headers.get(H_KV_OPERATION) in ("DEL", "PURGE")
        return KeyState(msg.seq or 0, not gone and bool(msg.data))

    async def delete(self, key: str, last: int | None = None) -> None:
        """Delete `key`; only if it is still at revision `last` when given (RevisionMismatch
        otherwise)."""
        await on_bus(self.kv.delete(key, last=last), f"delete {self.bucket}/{key}")

    async def watch(self, keys: str) -> AsyncIterator[KeyChange | None]:
        """Every key matching `keys` (a subject filter such as `member.interpreter.>`) as it is
        now, then None (the initial values are all there), then every change, until the caller
        stops iterating."""
        watcher = await on_bus(self.kv.watch(keys), f"watch {self.bucket}/{keys}")
        try:
            async for entry in watcher:
                if entry is None:
                    yield None
                    continue
                gone = entry.operation in ("DEL", "PURGE") or not entry.value
                yield KeyChange(entry.key, None if gone else entry.value, entry.revision or 0)
        finally:
            await watcher.stop()  # type: ignore[no-untyped-call]
