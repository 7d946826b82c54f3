"""The smtp kind against a real SMTP server (aiosmtpd) that offers STARTTLS and requires a
login over TLS: the exact mail it receives, refusals, and no password in the clear."""

from __future__ import annotations

import email
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword

from kapacitor.alerting.kinds.base import Event, Undelivered
from kapacitor.config import Config, load_config
from kapacitor.testing.handlers import send_events
from kapacitor.testing.ports import free_port

DOC = {
    "id": "cpu:cpu,host=web1",
    "plugin": "cpu",
    "instance": "cpu,host=web1",
    "tags": {"host": "web1", "dc": "eu"},
    "level": "CRITICAL",
    "previousLevel": "OK",
    "value": 27.5,
    "time": "2023-11-14T22:13:20Z",
    "time_ns": 1_700_000_000_000_000_000,
    "duration": 0,
    "message": "cpu web1 is CRITICAL",
    "topic": "cpu",
}
EVENT = Event("ev.9.cpu.0", orjson.dumps(DOC), DOC)


class Inbox:
    def __init__(self) -> None:
        self.mails: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.mails.append((str(envelope.mail_from), list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def _auth(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"kap", b"s3cret")
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[tuple[Inbox, int]]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=_auth,
    )
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def cfg(port: int, **env: str) -> Config:
    base = {
        "smtp_host": "127.0.0.1",
        "smtp_port": str(port),
        "smtp_from": "kapacitor@example.com",
        "smtp_username": "kap",
        "smtp_password": "s3cret",
        "smtp_no_verify": "true",
    }
    return load_config(env={f"KAPACITOR_{k.upper()}": v for k, v in (base | env).items()})


async def send(options: dict[str, Any], config: Config, kind: str = "smtp") -> None:
    await send_events(kind, options, config, EVENT)


async def test_a_mail_over_starttls_with_login(smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    await send({"to": ["ops@example.com", "ann@example.com"]}, cfg(port))
    await send({}, cfg(port, smtp_to="oncall@example.com"), kind="email")
    (sender, rcpts, raw), second = inbox.mails
    assert sender == "kapacitor@example.com"
    assert rcpts == ["ops@example.com", "ann@example.com"]
    assert second[1] == ["oncall@example.com"]
    mail = email.message_from_bytes(raw)
    assert mail["Subject"] == "cpu web1 is CRITICAL"
    assert mail["To"] == "ops@example.com, ann@example.com"
    assert mail["X-Kapacitor-Event-Id"] == "ev.9.cpu.0"
    assert mail["Date"] == "Tue, 14 Nov 2023 22:13:20 +0000"
    assert mail.get_payload(decode=True).decode().splitlines() == [
        "cpu web1 is CRITICAL",
        "",
        "Level: CRITICAL",
        "Was: OK",
        "Plugin: cpu",
        "Instance: cpu,host=web1",
        "Value: 27.5",
        "Time: 2023-11-14T22:13:20Z",
        "Topic: cpu",
        "Alert: cpu:cpu,host=web1",
        "Tags: dc=eu, host=web1",
    ]


async def test_a_wrong_password_is_final(smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    with pytest.raises(Undelivered, match="refused the login") as e:
        await send({"to": ["ops@example.com"]}, cfg(port, smtp_password="nope"))
    assert not e.value.retry and inbox.mails == []


async def test_an_unverified_certificate_is_refused_unless_told(
    smtp_server: tuple[Inbox, int],
) -> None:
    _, port = smtp_server
    with pytest.raises(Undelivered, match="no-verify") as e:
        await send({"to": ["ops@example.com"]}, cfg(port, smtp_no_verify="false"))
    assert not e.value.retry


async def test_no_password_in_the_clear() -> None:
    class Plain(Inbox):
        pass

    port = free_port()
    controller = Controller(Plain(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with pytest.raises(Undelivered, match="offers no STARTTLS") as e:
            await send({"to": ["ops@example.com"]}, cfg(port))
    finally:
        controller.stop()
    assert not e.value.retry


async def test_without_recipients_or_sender_it_names_the_setting() -> None:
    with pytest.raises(Undelivered, match="KAPACITOR_SMTP_TO"):
        await send({}, cfg(1))
    with pytest.raises(Undelivered, match="KAPACITOR_SMTP_FROM"):
        await send({"to": ["a@b"]}, cfg(1, smtp_from=""))
