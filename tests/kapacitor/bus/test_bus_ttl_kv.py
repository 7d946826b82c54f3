"""A KV bucket whose keys expire, on a real nats-server: compare-and-set, expiry seen by state
and watchers, conditional delete."""

from __future__ import annotations

import asyncio

import pytest

from kapacitor.bus.client import connect
from kapacitor.bus.ttl_kv import KeyChange, KeyState, TtlKv, ttl_seconds
from kapacitor.errors import RevisionMismatch


def test_ttls_are_whole_seconds_never_shorter() -> None:
    assert [ttl_seconds(s) for s in (0, 0.2, 1, 1.5, 5)] == [1, 1, 1, 2, 5]


async def test_compare_and_set_expiry_and_delete(nats_url: str) -> None:
    nc = await connect(nats_url, "test")
    try:
        kv = await TtlKv.open(nc.jetstream(timeout=5), "test_ttl")
        again = await TtlKv.open(nc.jetstream(timeout=5), "test_ttl")  # opening twice is fine
        assert await kv.state("a.b") == KeyState(0, False)
        rev = await kv.compare_and_set("a.b", b"one", 0, ttl=1)
        assert await again.state("a.b") == KeyState(rev, True)
        with pytest.raises(RevisionMismatch):
            await kv.compare_and_set("a.b", b"two", 0, ttl=1)
        rev2 = await kv.compare_and_set("a.b", b"two", rev, ttl=1)
        with pytest.raises(RevisionMismatch):
            await kv.delete("a.b", last=rev)
        await kv.delete("a.b", last=rev2)
        gone = await kv.state("a.b")
        assert not gone.live and gone.revision > rev2

        # Expiry: the key goes by itself; the server's marker makes it free, not absent.
        rev3 = await kv.compare_and_set("a.b", b"three", gone.revision, ttl=1)
        await asyncio.sleep(1.6)
        expired = await kv.state("a.b")
        assert not expired.live and expired.revision > rev3
        await kv.compare_and_set("a.b", b"four", expired.revision, ttl=1)
    finally:
        await nc.close()


async def test_watch_sees_writes_and_expiry(nats_url: str) -> None:
    nc = await connect(nats_url, "test")
    try:
        kv = await TtlKv.open(nc.jetstream(timeout=5), "test_watch")
        await kv.put("m.old", b"x", ttl=5)
        seen: list[KeyChange | None] = []

        async def watch() -> None:
            async for change in kv.watch("m.>"):
                seen.append(change)
                if change is not None and change.key == "m.new" and change.value is None:
                    return

        task = asyncio.create_task(watch())
        await asyncio.sleep(0.2)
        await kv.put("m.new", b"y", ttl=1)
        await asyncio.wait_for(task, 5)
        assert [(c.key, c.value) if c else None for c in seen] == [
            ("m.old", b"x"),
            None,  # the current keys are all there
            ("m.new", b"y"),
            ("m.new", None),  # expired
        ]
    finally:
        await nc.close()
