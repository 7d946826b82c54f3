"""Users, tokens, roles, and the role each request needs.

Roles, as the issue and Kapacitor's users expect them:
- `write`: `POST /write` only (what Telegraf needs, and nothing it could misuse);
- `read`: every GET (list, show, alerts, recordings, cluster, metrics);
- `admin`: everything, users and tokens included.
`/ping` needs nothing (load balancers and `kapacitor ping` ask it)."""

from __future__ import annotations

import re
from typing import Literal

import msgspec

from kapacitor.errors import RequestError

__all__ = ["ROLES", "Role", "TokenRecord", "UserRecord", "allows", "required_role"]

Role = Literal["read", "write", "admin"]
ROLES: tuple[Role, ...] = ("read", "write", "admin")
_NAME = re.compile(r"[-._@A-Za-z0-9]{1,100}")

_OPEN = frozenset({"/ping", "/kapacitor/v1/ping"})
_WRITES = frozenset({"/write", "/kapacitor/v1/write"})


class UserRecord(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    role: Role
    password_hash: str  # bcrypt
    created: int = 0  # ns


class TokenRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    role: Role
    secret_hash: str  # sha256 of the secret part (it is random: no need for a slow hash)
    user: str = ""  # who made it
    description: str = ""
    created: int = 0


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise RequestError(
            f"invalid user name {name!r}: 1-100 letters, digits, '-', '_', '.' or '@'"
        )
    return name


def check_role(role: str) -> Role:
    for r in ROLES:
        if role == r:
            return r
    raise RequestError(f"invalid role {role!r}: one of {', '.join(ROLES)}")


def required_role(method: str, path: str) -> Role | None:
    """The role a request needs (None: none, it is open)."""
    if path in _OPEN:
        return None
    if path in _WRITES and method == "POST":
        return "write"
    if method in ("GET", "HEAD"):
        return "read"
    return "admin"


def allows(role: Role, needed: Role) -> bool:
    return role == "admin" or role == needed
