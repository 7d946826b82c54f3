"""The HTTP API's users and tokens (kapacitor.auth) in a KV bucket: `user.<name>` and
`token.<id>`. The API follows the bucket, so checking a request reads memory, not NATS, and a
user deleted or a token revoked on any api process is refused by all within a moment."""

from __future__ import annotations

import asyncio
import contextlib

import msgspec
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from kapacitor.auth.model import TokenRecord, UserRecord
from kapacitor.bus import subjects
from kapacitor.bus.calls import on_bus
from kapacitor.bus.client import watch_bucket
from kapacitor.errors import Conflict, NotFound, RevisionMismatch
from kapacitor.tasks import cancel_and_wait

__all__ = ["AuthStore"]


class AuthStore:
    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv
        self.users: dict[str, UserRecord] = {}
        self.tokens: dict[str, TokenRecord] = {}
        self.ready = asyncio.Event()  # the bucket has been read once
        self._follower: asyncio.Task[None] | None = None
        self.changed = asyncio.Event()  # set on every change (the API drops its cache)

    def follow(self) -> None:
        if self._follower is None:
            self._follower = asyncio.create_task(
                watch_bucket(self.kv, str, bytes, self._on_change, "auth")
            )

    async def _on_change(self, values: dict[str, bytes]) -> None:
        users, tokens = {}, {}
        for key, data in values.items():
            with contextlib.suppress(msgspec.DecodeError):  # a record of another version
                if key.startswith("user."):
                    user = msgspec.json.decode(data, type=UserRecord)
                    users[user.name] = user
                elif key.startswith("token."):
                    token = msgspec.json.decode(data, type=TokenRecord)
                    tokens[token.id] = token
        self.users, self.tokens = users, tokens
        self.changed.set()
        self.ready.set()

    async def close(self) -> None:
        await cancel_and_wait(self._follower)
        self._follower = None

    async def create_user(self, user: UserRecord) -> None:
        key = f"user.{subjects.token(user.name)}"
        try:
            await on_bus(self.kv.create(key, msgspec.json.encode(user)), f"create user {user.name}")
        except RevisionMismatch:
            raise Conflict(f"user {user.name!r} exists already") from None

    async def put_user(self, user: UserRecord) -> None:
        key = f"user.{subjects.token(user.name)}"
        await on_bus(self.kv.put(key, msgspec.json.encode(user)), f"put user {user.name}")

    async def delete_user(self, name: str) -> None:
        if name not in self.users:
            raise NotFound(f"no user named {name!r}")
        with contextlib.suppress(KeyNotFoundError):
            await on_bus(self.kv.purge(f"user.{subjects.token(name)}"), f"delete user {name}")

    async def put_token(self, token: TokenRecord) -> None:
        await on_bus(
            self.kv.put(f"token.{token.id}", msgspec.json.encode(token)), f"put token {token.id}"
        )

    async def revoke_token(self, token_id: str) -> None:
        if token_id not in self.tokens:
            raise NotFound(f"no token with id {token_id!r}")
        with contextlib.suppress(KeyNotFoundError):
            await on_bus(self.kv.purge(f"token.{token_id}"), f"revoke token {token_id}")
