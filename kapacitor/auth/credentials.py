"""Credentials: what a request presents (basic auth, a bearer token, or InfluxDB's `u`/`p`
query parameters, which Telegraf and InfluxDB clients send), bcrypt password hashes, and
tokens `kap_<id>_<secret>` whose secret is stored only as a sha256."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs

import bcrypt

__all__ = [
    "BCRYPT_ROUNDS",
    "Credentials",
    "credentials_of",
    "hash_password",
    "new_token",
    "password_matches",
    "secret_hash",
    "split_token",
]

# 2^10 rounds: ~50 ms a check on this machine. A request's credentials are checked once and
# then cached (the API), so Telegraf's writes do not pay it each.
BCRYPT_ROUNDS = 10
MAX_PASSWORD_BYTES = 72  # what bcrypt looks at; longer is refused rather than cut silently
TOKEN_PREFIX = "kap_"


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str = ""
    password: str = ""
    token: str = ""


def credentials_of(authorization: str, query_string: bytes) -> Credentials | None:
    """The credentials a request presents; None when it presents none (or unreadable ones)."""
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return Credentials(token=value)
    if scheme.lower() == "token" and value:  # InfluxDB 2.x clients' spelling
        return Credentials(token=value)
    if scheme.lower() == "basic" and value:
        try:
            user, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return Credentials(user, password) if sep else None
    if query_string:
        q = parse_qs(query_string.decode("latin-1"))
        user, password = q.get("u", [""])[0], q.get("p", [""])[0]
        if user:
            return Credentials(user, password)
    return None


def hash_password(password: str) -> str:
    data = password.encode()
    if len(data) > MAX_PASSWORD_BYTES:
        raise ValueError(f"a password is at most {MAX_PASSWORD_BYTES} bytes")
    return bcrypt.hashpw(data, bcrypt.gensalt(BCRYPT_ROUNDS)).decode()


def password_matches(password: str, hashed: str) -> bool:
    data = password.encode()
    if len(data) > MAX_PASSWORD_BYTES:
        return False
    try:
        return bool(bcrypt.checkpw(data, hashed.encode()))
    except ValueError:  # not a bcrypt hash
        return False


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token() -> tuple[str, str, str]:
    """(id, secret, the token as given to its user)."""
    token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(24)
    return token_id, secret, f"{TOKEN_PREFIX}{token_id}_{secret}"


def split_token(token: str) -> tuple[str, str] | None:
    """(id, secret) of a token; None for what is no token of ours."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    token_id, sep, secret = token[len(TOKEN_PREFIX) :].partition("_")
    return (token_id, secret) if sep and token_id and secret else None


def same_secret(secret: str, hashed: str) -> bool:
    return hmac.compare_digest(secret_hash(secret), hashed)
