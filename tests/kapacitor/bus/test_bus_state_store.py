"""Plugin state on a real nats-server's object store: large snapshots, overwrite, delete."""

from __future__ import annotations

import os

import pytest

from kapacitor.bus.client import setup, state_bucket
from kapacitor.bus.state_store import StateStore
from kapacitor.errors import CodecError


async def test_snapshots_round_trip_overwrite_and_delete(nats_url: str) -> None:
    nc, js = await setup(nats_url, "test")
    try:
        store = StateStore(await state_bucket(js))
        assert await store.load("p") is None
        big = os.urandom(3 * 1024 * 1024)  # beyond a NATS message: the object store chunks it
        await store.save("p", "100.1", big)
        saved = await store.load("p")
        assert saved is not None and (saved.fingerprint, saved.snapshot) == ("100.1", big)
        await store.save("p", "100.2", b"small")
        again = StateStore(await state_bucket(js))  # as another interpreter would see it
        saved = await again.load("p")
        assert saved is not None and (saved.fingerprint, saved.snapshot) == ("100.2", b"small")
        await store.delete("p")
        await store.delete("p")  # deleting what is gone is fine
        assert await store.load("p") is None
    finally:
        await nc.close()


async def test_unreadable_state_is_a_codec_error(nats_url: str) -> None:
    nc, js = await setup(nats_url, "test")
    try:
        obs = await state_bucket(js)
        await obs.put("q", b"\xc1 not msgpack")
        with pytest.raises(CodecError, match="stored state of plugin 'q' is unreadable"):
            await StateStore(obs).load("q")
    finally:
        await nc.close()


async def test_partition_state_is_fenced_by_its_pointer(nats_url: str) -> None:
    """A new owner's take moves the pointer: the last owner's late save is refused (and its
    object removed), and the new owner reads the last state saved before it took over."""
    from kapacitor.bus.state_store import PartitionStore
    from kapacitor.errors import RevisionMismatch
    from kapacitor.plugins.state import PartitionState, StoredState

    nc, js = await setup(nats_url, "test")
    try:
        store = await PartitionStore.open(js, "interpreter")
        old = await store.take(3, "a")
        assert (old.state, old.obj, old.problem) == (None, "", "")
        saved = PartitionState(7, {"p": StoredState("1.1", b"snap")})
        await store.save(old, saved, "a")
        new = await store.take(3, "b")
        assert new.state == saved and new.obj == old.obj
        with pytest.raises(RevisionMismatch):
            await store.save(old, PartitionState(9, {}), "a")  # too late: b owns it
        objects = [o.name for o in await store.obs.list() if not o.deleted]
        assert objects == [old.obj]  # the refused save left nothing behind
        await store.save(new, PartitionState(9, {}), "b")
        assert (await store.take(3, "c")).state == PartitionState(9, {})
    finally:
        await nc.close()
