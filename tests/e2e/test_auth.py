"""HTTP auth (`[http] auth-enabled`) and HTTPS, through a real kapacitord driven by the CLI
and HTTP: nothing but /ping without credentials, roles (write: /write only; read: GETs; admin:
all), users made by the first admin, tokens created, used and revoked, the unix socket open to
who may open it; the API over TLS, verified by the CLI."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest

from kapacitor.testing.daemon import Daemon, wait_until
from kapacitor.testing.tls import self_signed

ADMIN = ("--username", "admin", "--password", "s3cret")
PLUGINS = "/kapacitor/v1/plugins"
LINE = "cpu,host=a value=1 1"


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_credentials_and_roles(daemon: Daemon, tmp_path: Path) -> None:
    daemon.env.update(
        {
            "KAPACITOR_HTTP_AUTH_ENABLED": "true",
            "KAPACITOR_AUTH_ADMIN_USERNAME": "admin",
            "KAPACITOR_AUTH_ADMIN_PASSWORD": "s3cret",
        }
    )
    daemon.start()
    url = daemon.url
    assert httpx.get(url + "/ping").status_code == 204
    r = httpx.get(url + PLUGINS)
    assert r.status_code == 401 and r.headers["www-authenticate"] == 'Basic realm="kapacitor"'
    assert r.json() == {"error": "authentication required: basic auth, a bearer token or u/p"}
    assert httpx.post(url + "/write?db=telegraf", content=LINE).status_code == 401
    assert httpx.get(url + PLUGINS, headers=basic("admin", "wrong")).status_code == 401
    assert httpx.get(url + PLUGINS, headers=basic("admin", "s3cret")).status_code == 200

    # the CLI: global credentials; the first admin makes the others
    assert daemon.cli("list").code == 1
    r = daemon.cli(*ADMIN, "user", "create", "telegraf", "--role", "write", "--password-stdin",
                   stdin="tpw\n")  # fmt: skip
    assert r.code == 0, r.stderr
    r = daemon.cli(*ADMIN, "user", "create", "viewer", "--role", "read", "--password-stdin",
                   stdin="vpw\n")  # fmt: skip
    assert r.code == 0, r.stderr
    users = daemon.cli(*ADMIN, "user", "list", "--json").json()["users"]
    assert [(u["name"], u["role"]) for u in users] == [
        ("admin", "admin"), ("telegraf", "write"), ("viewer", "read")
    ]  # fmt: skip
    assert "password" not in str(users) and "hash" not in str(users)

    # write: /write only, with basic auth or InfluxDB's u/p
    tg = basic("telegraf", "tpw")
    assert httpx.post(url + "/write?db=telegraf", content=LINE, headers=tg).status_code == 204
    r = httpx.post(url + "/write?db=telegraf&u=telegraf&p=tpw", content=LINE)
    assert r.status_code == 204
    r = httpx.get(url + PLUGINS, headers=tg)
    assert r.status_code == 403 and "needs read" in r.json()["error"]
    # read: GETs only
    view = ("--username", "viewer", "--password", "vpw")
    assert daemon.cli(*view, "list").code == 0
    script = tmp_path / "s.kap"
    script.write_text("alert(value, >, 1)\n")
    r = daemon.cli(*view, "define", "p", "--from", "cpu", "--script", str(script))
    assert r.code == 1 and "viewer (read) may not POST /kapacitor/v1/plugins" in r.stderr
    assert daemon.cli(*ADMIN, "define", "p", "--from", "cpu", "--script", str(script)).code == 0

    # tokens: shown once, used as a bearer token, listed without the secret, revoked
    token = daemon.cli(*ADMIN, "token", "create", "--role", "write", "--description", "tg")
    assert token.code == 0, token.stderr
    secret = token.stdout.strip()
    bearer = {"Authorization": f"Bearer {secret}"}
    assert httpx.post(url + "/write?db=telegraf", content=LINE, headers=bearer).status_code == 204
    (listed,) = daemon.cli(*ADMIN, "token", "list", "--json").json()["tokens"]
    assert listed["role"] == "write" and listed["user"] == "admin" and secret not in str(listed)
    assert daemon.cli("--token", secret, "list").code == 1  # write may not read
    assert daemon.cli(*ADMIN, "token", "revoke", listed["id"]).code == 0
    wait_until(
        lambda: (
            httpx.post(url + "/write?db=telegraf", content=LINE, headers=bearer).status_code == 401
        ),
        what="the revoked token refused",
    )

    # a deleted user is refused, even right after its password was checked and remembered
    assert daemon.cli(*ADMIN, "user", "delete", "viewer").code == 0
    wait_until(lambda: daemon.cli(*view, "list").code == 1, what="the deleted user refused")

    # the unix socket: its file permissions are its control
    assert daemon.cli("--socket", str(daemon.socket), "list").code == 0


def test_https_api_and_a_plain_unix_socket(daemon: Daemon, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    daemon.env.update(
        {
            "KAPACITOR_HTTP_HTTPS_ENABLED": "true",
            "KAPACITOR_HTTP_HTTPS_CERTIFICATE": str(cert),
            "KAPACITOR_HTTP_HTTPS_PRIVATE_KEY": str(key),
        }
    )
    daemon.start()  # its /ping answered over https, verified against the certificate
    assert daemon.url.startswith("https://")
    assert daemon.write(LINE).status_code == 204
    assert daemon.cli("list").code == 0  # the CA from KAPACITOR_CA_CERT
    env_free = ("--ca-cert", "")
    r = daemon.cli(*env_free, "list")
    assert r.code == 1 and "did not verify" in r.stderr and "--ca-cert" in r.stderr
    assert daemon.cli(*env_free, "--insecure-skip-verify", "list").code == 0
    with pytest.raises(httpx.HTTPError):  # plain HTTP to the TLS port: no answer
        httpx.get(daemon.url.replace("https", "http") + "/ping", timeout=5).raise_for_status()
    assert daemon.cli("--socket", str(daemon.socket), "list").code == 0  # plain, local


def test_outbound_requests_are_checked(daemon: Daemon, tmp_path: Path) -> None:
    daemon.start()
    r = daemon.cli("record", "--host", "http://169.254.169.254", "--query", "SELECT * FROM m")
    assert r.code == 1 and "169.254.169.254 (169.254.169.254) is in the denied network" in r.stderr
    r = daemon.cli("record", "--host", "file:///etc/passwd", "--query", "SELECT * FROM m")
    assert r.code == 1 and "not an http(s) URL" in r.stderr
    handler = tmp_path / "h.yaml"
    handler.write_text(
        "id: meta\ntopic: cpu\nkind: post\n"
        "options: {url: 'http://169.254.169.254/latest/meta-data/'}\n"
    )
    assert daemon.cli("define-topic-handler", str(handler)).code == 0
    script = tmp_path / "s.kap"
    script.write_text('alert(value, >, 1, topic="cpu")\n')
    assert daemon.cli("define", "p", "--from", "cpu", "--script", str(script)).code == 0
    assert daemon.cli("enable", "p").code == 0
    daemon.wait_plugins_live()
    assert daemon.write("cpu,host=a value=5 1").status_code == 204

    def shown() -> dict[str, Any] | None:
        stats: dict[str, Any] = daemon.cli("show-topic-handler", "cpu", "meta", "--json").json()[
            "stats"
        ]
        return stats if stats["failed"] else None

    stats = wait_until(shown, what="the handler's refused send")
    assert "denied network 169.254.0.0/16" in stats["last_error"] and stats["retried"] == 0
