"""The last tick each scheduled plugin ran, so that the next owner of its ticks (after a
restart or a failover) knows what is due (kapacitor.schedule.timing: the catch-up rule)."""

from __future__ import annotations

import contextlib

import msgspec
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from kapacitor.bus import subjects
from kapacitor.bus.calls import on_bus

__all__ = ["LastTick", "ScheduleStore"]


class LastTick(msgspec.Struct, frozen=True):
    tick: int  # ns
    definition: str  # state_fingerprint of the definition that ran it


class ScheduleStore:
    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def last(self, plugin: str) -> LastTick | None:
        with contextlib.suppress(KeyNotFoundError):
            entry = await on_bus(
                self.kv.get(subjects.token(plugin)),
                f"last tick of {plugin}",
                missing=(KeyNotFoundError,),
            )
            if entry.value:
                return msgspec.json.decode(entry.value, type=LastTick)
        return None

    async def put(self, plugin: str, last: LastTick) -> None:
        await on_bus(
            self.kv.put(subjects.token(plugin), msgspec.json.encode(last)),
            f"last tick of {plugin}",
        )
