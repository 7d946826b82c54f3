"""Credentials, password hashes, tokens and the role each request needs."""

from __future__ import annotations

import base64

import pytest

from kapacitor.auth import (
    Credentials,
    allows,
    credentials_of,
    hash_password,
    new_token,
    password_matches,
    required_role,
    split_token,
)
from kapacitor.auth.credentials import same_secret, secret_hash
from kapacitor.auth.model import check_name, check_role
from kapacitor.errors import RequestError


def basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("header", "query", "expected"),
    [
        (basic("telegraf:pw:with:colons"), b"", Credentials("telegraf", "pw:with:colons")),
        ("Bearer kap_ab_cd", b"", Credentials(token="kap_ab_cd")),
        ("Token kap_ab_cd", b"", Credentials(token="kap_ab_cd")),
        ("", b"db=telegraf&u=telegraf&p=pw", Credentials("telegraf", "pw")),
        ("", b"db=telegraf", None),
        ("Basic !!!", b"", None),
        (basic("no-colon"), b"", None),
        ("Bearer ", b"", None),
    ],
)
def test_what_a_request_presents(header: str, query: bytes, expected: Credentials | None) -> None:
    assert credentials_of(header, query) == expected


def test_passwords_are_bcrypt_hashed() -> None:
    hashed = hash_password("s3cret")
    assert hashed.startswith("$2b$") and "s3cret" not in hashed
    assert password_matches("s3cret", hashed) and not password_matches("s3cre", hashed)
    assert not password_matches("s3cret", "not a hash")
    with pytest.raises(ValueError, match="at most 72 bytes"):
        hash_password("x" * 73)


def test_tokens_keep_only_a_hash_of_their_secret() -> None:
    token_id, secret, text = new_token()
    assert text == f"kap_{token_id}_{secret}" and split_token(text) == (token_id, secret)
    assert same_secret(secret, secret_hash(secret)) and not same_secret("x", secret_hash(secret))
    assert split_token("kap_nosecret") is None and split_token("other") is None
    assert new_token()[0] != token_id


@pytest.mark.parametrize(
    ("method", "path", "role"),
    [
        ("GET", "/ping", None),
        ("HEAD", "/kapacitor/v1/ping", None),
        ("POST", "/write", "write"),
        ("POST", "/kapacitor/v1/write", "write"),
        ("GET", "/kapacitor/v1/plugins", "read"),
        ("GET", "/metrics", "read"),
        ("POST", "/kapacitor/v1/plugins", "admin"),
        ("DELETE", "/kapacitor/v1/tokens/x", "admin"),
        ("PATCH", "/kapacitor/v1/users/x", "admin"),
    ],
)
def test_the_role_each_request_needs(method: str, path: str, role: str | None) -> None:
    assert required_role(method, path) == role


def test_roles() -> None:
    assert allows("admin", "write") and allows("admin", "read") and allows("read", "read")
    assert not allows("write", "read") and not allows("read", "write")
    assert not allows("read", "admin") and not allows("write", "admin")
    assert check_role("admin") == "admin"
    with pytest.raises(RequestError, match="invalid role 'root'"):
        check_role("root")
    with pytest.raises(RequestError, match="invalid user name"):
        check_name("a b")
