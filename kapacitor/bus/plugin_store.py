"""Plugin definitions and counters in JetStream KV: durable, and watched by every service."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable

import msgspec
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from kapacitor.bus import subjects
from kapacitor.bus.calls import on_bus
from kapacitor.bus.client import kv_items, kv_values, watch_bucket
from kapacitor.errors import PluginNotFound
from kapacitor.plugins import (
    PluginDefinition,
    PluginStats,
    decode_definition,
    encode_definition,
    sum_stats,
)
from kapacitor.tasks import cancel_and_wait

log = logging.getLogger("kapacitor.plugins")


class PluginStore:
    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def get(self, name: str) -> PluginDefinition:
        if not name:  # no key at all: the KV would refuse it as invalid, not as missing
            raise PluginNotFound("no plugin named ''")
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
        """Call `on_change(all definitions, by name)` at start and after every change,
        forever (restarted when the watcher fails)."""
        await watch_bucket(self.kv, subjects.untoken, decode_definition, on_change, "plugin")


class StatsStore:
    """Counters per plugin and partition (`<plugin>.<p>`), each written by the partition's
    owner; a plugin's are summed when read. A key `<plugin>` holds what was counted before
    partitions: it is summed in too, so counters go on across the upgrade.

    A reader that asks often (the API: every `GET /plugins/<name>`, `kapacitor list`, each
    /metrics scrape) calls `follow()`: one watcher then keeps the bucket in memory and a read
    is a lookup, instead of a watcher created on the server per read (about 2 ms each).
    Until the watcher has caught up, reads go to the server as before."""

    def __init__(self, js: JetStreamContext, kv: KeyValue) -> None:
        self.js = js
        self.kv = kv
        self._values: dict[str, dict[str, bytes]] = {}  # by plugin token: key -> value
        self._live = False
        self._follower: asyncio.Task[None] | None = None

    async def put(self, partition: int | str, stats: PluginStats) -> None:
        """Store the counters of one part of a plugin: a partition, or a named part (the
        scheduler's)."""
        key = f"{subjects.token(stats.plugin)}.{partition}"
        await on_bus(self.kv.put(key, msgspec.json.encode(stats)), f"putting stats {key}")

    async def get_part(self, part: str, name: str) -> PluginStats | None:
        """The counters one named part stored (None when it stored none)."""
        with contextlib.suppress(KeyNotFoundError):
            entry = await self.kv.get(f"{subjects.token(name)}.{part}")
            if entry.value:
                return msgspec.json.decode(entry.value, type=PluginStats)
        return None

    async def get(self, name: str) -> PluginStats:
        if self._live:
            found = _summed(self._values.get(subjects.token(name), {}).items()).get(name)
        else:
            found = (await self._read(f"{subjects.token(name)}.>", name)).get(name)
        return found or PluginStats(plugin=name)

    async def all(self) -> dict[str, PluginStats]:
        """Every plugin's counters, by name."""
        if not self._live:
            return await self._read(">")
        return _summed(item for keys in self._values.values() for item in keys.items())

    def follow(self) -> None:
        """Keep the bucket in memory from now on (see the class doc); `close()` stops it."""
        if self._follower is None:
            self._follower = asyncio.create_task(self._follow())

    async def close(self) -> None:
        await cancel_and_wait(self._follower)
        self._follower = None
        self._live = False

    async def _follow(self) -> None:
        while True:
            try:
                watcher = await self.kv.watchall()
                initial: dict[str, dict[str, bytes]] | None = {}
                async for entry in watcher:
                    if entry is None:  # the initial values are in: swap them in at once
                        if initial is not None:
                            self._values, initial = initial, None
                            self._live = True
                        continue
                    into = (self._values if initial is None else initial).setdefault(
                        entry.key.partition(".")[0], {}
                    )
                    if entry.operation in ("DEL", "PURGE") or not entry.value:
                        into.pop(entry.key, None)
                    else:
                        into[entry.key] = entry.value
            except asyncio.CancelledError:
                raise
            except Exception as e:  # loop boundary: read from the server meanwhile, re-watch
                self._live = False
                log.warning("stats watch failed, restarting: %s", e)
                await asyncio.sleep(0.5)

    async def _read(self, keys: str, legacy: str | None = None) -> dict[str, PluginStats]:
        found = await kv_items(self.js, subjects.STATS_BUCKET, self.kv, keys)
        if legacy is not None:  # a filter on '<plugin>.>' misses the key '<plugin>' itself
            with contextlib.suppress(KeyNotFoundError):
                entry = await self.kv.get(subjects.token(legacy))
                if entry.value:
                    found.append((entry.key, entry.value))
        return _summed(found)

    async def delete(self, name: str) -> None:
        tok = subjects.token(name)
        for key in await self._keys(f"{tok}.>") + [tok]:
            with contextlib.suppress(KeyNotFoundError):
                await self.kv.purge(key)

    async def _keys(self, keys: str) -> list[str]:
        out = []
        watcher = await self.kv.watch(keys, ignore_deletes=True, meta_only=True)
        try:
            async for entry in watcher:
                if entry is None:
                    break
                out.append(entry.key)
        finally:
            await watcher.stop()  # type: ignore[no-untyped-call]
        return out


def _summed(entries: Iterable[tuple[str, bytes]]) -> dict[str, PluginStats]:
    """Each plugin's counters, summed over its entries (key, value) of the stats bucket."""
    parts: dict[str, list[PluginStats]] = {}
    for key, value in entries:
        tok, _, partition = key.partition(".")
        try:
            stats = msgspec.json.decode(value, type=PluginStats)
        except msgspec.DecodeError:
            log.warning("ignoring unreadable counters under %s", key)
            continue
        if not partition:  # counted before partitions: its revision is not one running now
            stats.revision = 0
        parts.setdefault(subjects.untoken(tok), []).append(stats)
    return {name: sum_stats(name, found) for name, found in parts.items()}
