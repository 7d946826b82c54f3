"""Silences in JetStream KV (key: the silence id), kept after they end so `silence list --all`
can show them; an expired silence is one whose end has passed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from kapacitor.alerting.silences import Silence
from kapacitor.bus.calls import on_bus
from kapacitor.bus.client import kv_values, watch_bucket
from kapacitor.errors import NotFound


def decode_silence(data: bytes) -> Silence:
    return msgspec.json.decode(data, type=Silence)


class SilenceStore:
    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def put(self, silence: Silence) -> None:
        """Stored (acknowledged by the server) when it returns."""
        await on_bus(self.kv.put(silence.id, msgspec.json.encode(silence)), "storing silence")

    async def get(self, silence_id: str) -> Silence:
        try:
            entry = await on_bus(
                self.kv.get(silence_id), "reading silence", missing=(KeyNotFoundError,)
            )
        except KeyNotFoundError:
            entry = None
        if entry is None or not entry.value:
            raise NotFound(f"no silence {silence_id!r}")
        return decode_silence(entry.value)

    async def list(self) -> list[Silence]:
        found = [decode_silence(v) for v in await on_bus(kv_values(self.kv), "listing silences")]
        return sorted(found, key=lambda s: (s.created, s.id))

    async def expire(self, silence_id: str, now_ns: int) -> Silence:
        """End a silence now (one already over stays as it is)."""
        silence = await self.get(silence_id)
        if silence.ends > now_ns:
            silence = msgspec.structs.replace(silence, ends=max(now_ns, silence.created))
            await self.put(silence)
        return silence

    async def watch(self, on_change: Callable[[dict[str, Silence]], Awaitable[None]]) -> None:
        """`on_change(every silence by id)` at start and after every change, forever."""
        await watch_bucket(self.kv, str, decode_silence, on_change, "silence")
