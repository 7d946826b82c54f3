"""Who may use the HTTP API (`[http] auth-enabled`): users with a role and a bcrypt-hashed
password, tokens with a role, and which role each route needs. No I/O here: the users and
tokens live in a KV bucket (kapacitor.bus.auth_store), the API checks requests with them."""

from kapacitor.auth.credentials import (
    Credentials,
    credentials_of,
    hash_password,
    new_token,
    password_matches,
    secret_hash,
    split_token,
)
from kapacitor.auth.model import ROLES, TokenRecord, UserRecord, allows, required_role

__all__ = [
    "ROLES",
    "Credentials",
    "TokenRecord",
    "UserRecord",
    "allows",
    "credentials_of",
    "hash_password",
    "new_token",
    "password_matches",
    "required_role",
    "secret_hash",
    "split_token",
]
