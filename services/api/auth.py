"""Authentication of the HTTP API (`[http] auth-enabled`): an ASGI middleware that lets a
request through only with credentials of a role allowed its route (kapacitor.auth), 401 or
403 otherwise. Requests over the unix socket (uvicorn gives them a server address without a
port) and /ping need none. A password is checked with bcrypt once, off the event loop, then
remembered for a while: Telegraf sends its credentials with every write."""

from __future__ import annotations

import asyncio
import hashlib

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from kapacitor.auth import Credentials, allows, credentials_of, password_matches, required_role
from kapacitor.auth.credentials import same_secret, split_token
from kapacitor.auth.model import Role
from kapacitor.bus.auth_store import AuthStore
from kapacitor.clock import Clock

__all__ = ["USER_KEY", "Authenticate", "Authenticator"]

CACHE_S = 60.0  # how long a checked password is taken as checked (a change of users clears it)
USER_KEY = "kapacitor.user"  # the scope key of the authenticated user's name


class Authenticator:
    def __init__(self, store: AuthStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._cache: dict[tuple[str, str], tuple[Role, float]] = {}

    async def role_of(self, creds: Credentials) -> tuple[Role, str] | None:
        """(role, user name) the credentials are worth; None when they are worth nothing."""
        if self.store.changed.is_set():  # users or tokens changed: check everything afresh
            self.store.changed.clear()
            self._cache.clear()
        token = creds.token or (creds.password if split_token(creds.password) else "")
        if token:  # a bearer token, or one given as the password (InfluxDB's subscriptions)
            parts = split_token(token)
            record = self.store.tokens.get(parts[0]) if parts else None
            if parts is None or record is None or not same_secret(parts[1], record.secret_hash):
                return None
            return record.role, record.user or f"token {record.id}"
        user = self.store.users.get(creds.username)
        if user is None:
            return None
        presented = f"{user.password_hash}:{creds.password}".encode()
        key = (user.name, hashlib.sha256(presented).hexdigest())
        cached = self._cache.get(key)
        now = self.clock.monotonic_ns() / 1e9
        if cached is not None and cached[1] > now:
            return cached[0], user.name
        if not await asyncio.to_thread(password_matches, creds.password, user.password_hash):
            return None
        self._cache[key] = (user.role, now + CACHE_S)
        return user.role, user.name


class Authenticate:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server")
        if scope["type"] != "http" or server is None or server[1] is None:
            await self.app(scope, receive, send)  # not HTTP, or over the unix socket
            return
        api = scope["app"].state.api
        needed = (
            required_role(scope["method"], scope["path"]) if api.cfg.http.auth_enabled else None
        )
        if needed is None:  # auth disabled, or an open route
            await self.app(scope, receive, send)
            return
        authorization = ""
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
        creds = credentials_of(authorization, scope.get("query_string", b""))
        if creds is None:
            await _refuse(send, 401, "authentication required: basic auth, a bearer token or u/p")
            return
        found = await api.authenticator.role_of(creds)
        if found is None:
            await _refuse(send, 401, "invalid credentials")
            return
        role, user = found
        if not allows(role, needed):
            await _refuse(
                send,
                403,
                f"{user} ({role}) may not {scope['method']} {scope['path']}: it needs {needed}",
            )
            return
        scope[USER_KEY] = user
        await self.app(scope, receive, send)


async def _refuse(send: Send, status: int, message: str) -> None:
    body = orjson.dumps({"error": message})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Basic realm="kapacitor"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
