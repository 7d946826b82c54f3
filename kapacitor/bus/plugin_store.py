"""Plugin definitions and counters in JetStream KV: durable, and watched by every service."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import msgspec
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from kapacitor.bus import subjects
from kapacitor.bus.client import kv_values
from kapacitor.errors import PluginNotFound
from kapacitor.plugins import (
    PluginDefinition,
    PluginStats,
    decode_definition,
    encode_definition,
)

log = logging.getLogger("kapacitor.plugins")


class PluginStore:
    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def get(self, name: str) -> PluginDefinition:
        try:
            entry = await self.kv.get(subjects.token(name))
        except KeyNotFoundError:
            raise PluginNotFound(f"no plugin named {name!r}") from None
        if entry.value is None:
            raise PluginNotFound(f"no plugin named {name!r}")
        return decode_definition(entry.value)

    async def find(self, name: str) -> PluginDefinition | None:
        try:
            return await self.get(name)
        except PluginNotFound:
            return None

    async def put(self, d: PluginDefinition) -> None:
        await self.kv.put(subjects.token(d.name), encode_definition(d))

    async def delete(self, name: str) -> None:
        await self.get(name)
        await self.kv.purge(subjects.token(name))

    async def list(self) -> list[PluginDefinition]:
        return sorted(
            (decode_definition(v) for v in await kv_values(self.kv)), key=lambda d: d.name
        )

    async def watch(
        self, on_change: Callable[[dict[str, PluginDefinition]], Awaitable[None]]
    ) -> None:
        """Call `on_change(all definitions)` at start and after every change, forever.

        The watcher is restarted if it fails: KV watchers have had bugs, and a missed update
        would leave a service on a stale definition.
        """
        while True:
            try:
                current: dict[str, PluginDefinition] = {d.name: d for d in await self.list()}
                await on_change(dict(current))
                watcher = await self.kv.watchall(include_history=False)
                async for entry in watcher:
                    if entry is None:
                        continue
                    name = subjects.untoken(entry.key)
                    if entry.operation in ("DEL", "PURGE") or not entry.value:
                        current.pop(name, None)
                    else:
                        current[name] = decode_definition(entry.value)
                    await on_change(dict(current))
            except asyncio.CancelledError:
                raise
            except Exception as e:  # loop boundary: log, then re-list and re-watch
                log.warning("plugin watch failed, restarting: %s", e)
                await asyncio.sleep(0.5)


class StatsStore:
    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def get(self, name: str) -> PluginStats:
        try:
            entry = await self.kv.get(subjects.token(name))
        except KeyNotFoundError:
            return PluginStats(plugin=name)
        if not entry.value:
            return PluginStats(plugin=name)
        return msgspec.json.decode(entry.value, type=PluginStats)

    async def put(self, stats: PluginStats) -> None:
        await self.kv.put(subjects.token(stats.plugin), msgspec.json.encode(stats))

    async def delete(self, name: str) -> None:
        try:
            await self.kv.purge(subjects.token(name))
        except KeyNotFoundError:
            pass
