"""/users and /tokens: who may use the HTTP API (admin only, as every route that changes
something); and the first admin, made at start from [auth] admin-username/admin-password."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, Request, Response

from kapacitor.api import V1
from kapacitor.api.plugins import decode_body
from kapacitor.auth import hash_password, new_token, secret_hash
from kapacitor.auth.model import Role, TokenRecord, UserRecord, check_name, check_role
from kapacitor.errors import ConfigError, Conflict, RequestError
from services.api.auth import USER_KEY
from services.api.openapi import json_body
from services.api.state import ApiState, api_state

log = logging.getLogger("kapacitor.api")

router = APIRouter(prefix=V1)
Api = Annotated[ApiState, Depends(api_state)]


class UserBody(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    role: str
    password: str


class UserPatch(msgspec.Struct, frozen=True, kw_only=True):
    role: str | None = None
    password: str | None = None


class TokenBody(msgspec.Struct, frozen=True, kw_only=True):
    role: str
    description: str = ""


def _user_doc(u: UserRecord) -> dict[str, Any]:
    return {"name": u.name, "role": u.role, "created": u.created}


def _token_doc(t: TokenRecord) -> dict[str, Any]:
    return {"id": t.id, "role": t.role, "user": t.user, "description": t.description,
            "created": t.created}  # fmt: skip


async def _hashed(password: str) -> str:
    if not password:
        raise RequestError("a password is required")
    try:
        return await asyncio.to_thread(hash_password, password)
    except ValueError as e:
        raise RequestError(str(e)) from None


@router.get("/users")
async def list_users(api: Api) -> dict[str, Any]:
    return {"users": [_user_doc(u) for u in sorted(api.auth.users.values(), key=lambda u: u.name)]}


@router.post("/users", status_code=201, openapi_extra=json_body(UserBody))
async def create_user(request: Request, api: Api) -> dict[str, Any]:
    body = decode_body(await request.body(), UserBody)
    user = UserRecord(
        name=check_name(body.name),
        role=check_role(body.role),
        password_hash=await _hashed(body.password),
        created=api.clock.now_ns(),
    )
    await api.auth.create_user(user)
    return _user_doc(user)


@router.patch("/users/{name}", openapi_extra=json_body(UserPatch))
async def update_user(name: str, request: Request, api: Api) -> dict[str, Any]:
    body = decode_body(await request.body(), UserPatch)
    user = api.auth.users.get(name)
    if user is None:
        raise RequestError(f"no user named {name!r}")
    role: Role = check_role(body.role) if body.role is not None else user.role
    hashed = await _hashed(body.password) if body.password is not None else user.password_hash
    changed = msgspec.structs.replace(user, role=role, password_hash=hashed)
    await api.auth.put_user(changed)
    return _user_doc(changed)


@router.delete("/users/{name}", status_code=204)
async def delete_user(name: str, api: Api) -> Response:
    await api.auth.delete_user(name)
    return Response(status_code=204)


@router.get("/tokens")
async def list_tokens(api: Api) -> dict[str, Any]:
    tokens = sorted(api.auth.tokens.values(), key=lambda t: (t.created, t.id))
    return {"tokens": [_token_doc(t) for t in tokens]}


@router.post("/tokens", status_code=201, openapi_extra=json_body(TokenBody))
async def create_token(request: Request, api: Api) -> dict[str, Any]:
    """A new token: the answer is the only place its secret is ever shown."""
    body = decode_body(await request.body(), TokenBody)
    token_id, secret, text = new_token()
    record = TokenRecord(
        id=token_id,
        role=check_role(body.role),
        secret_hash=secret_hash(secret),
        user=str(request.scope.get(USER_KEY, "")),
        description=body.description,
        created=api.clock.now_ns(),
    )
    await api.auth.put_token(record)
    return {**_token_doc(record), "token": text}


@router.delete("/tokens/{token_id}", status_code=204)
async def revoke_token(token_id: str, api: Api) -> Response:
    await api.auth.revoke_token(token_id)
    return Response(status_code=204)


async def first_admin(api: ApiState) -> None:
    """The admin user of [auth] admin-username/admin-password, when there is no user yet."""
    name, password = api.cfg.auth.admin_username, api.cfg.auth.admin_password
    if not name:
        if api.cfg.http.auth_enabled:
            await api.auth.ready.wait()
            if not api.auth.users:
                log.warning(
                    "auth is enabled and there is no user: only the unix socket lets anyone in"
                    " (kapacitor --socket ... user create), or set KAPACITOR_AUTH_ADMIN_USERNAME"
                    " and KAPACITOR_AUTH_ADMIN_PASSWORD"
                )
        return
    await api.auth.ready.wait()
    if api.auth.users:
        return
    try:
        user = UserRecord(
            name=check_name(name),
            role="admin",
            password_hash=await _hashed(password),
            created=api.clock.now_ns(),
        )
    except RequestError as e:
        raise ConfigError(f"auth.admin-username/admin-password: {e}") from None
    try:
        await api.auth.create_user(user)
        log.info("made the admin user %r", name)
    except Conflict:
        pass  # another api process made it first
