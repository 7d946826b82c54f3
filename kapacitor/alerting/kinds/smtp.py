"""kind: smtp (or email) — a mail per event through `[smtp]` (Kapacitor's smtp handler): the
message as the subject, the event's fields as a plain text body, to `to` (else `[smtp] to`).

STARTTLS is used whenever the server offers it, and required before logging in: a password
is never sent in the clear. Port 465 speaks TLS from the start. The SMTP conversation is
smtplib's, run in a thread (it blocks)."""

from __future__ import annotations

import asyncio
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import msgspec

from kapacitor.alerting.kinds.base import Event, Options, Undelivered
from kapacitor.alerting.kinds.http import unset
from kapacitor.config import Config, SmtpConfig

H_EVENT_ID = "X-Kapacitor-Event-Id"
TLS_PORT = 465
BODY_FIELDS = (
    ("Level", "level"),
    ("Was", "previousLevel"),
    ("Plugin", "plugin"),
    ("Instance", "instance"),
    ("Value", "value"),
    ("Time", "time"),
    ("Topic", "topic"),
    ("Alert", "id"),
)


class SmtpOptions(Options, frozen=True, kw_only=True, forbid_unknown_fields=True):
    to: list[str] = msgspec.field(default_factory=list)  # []: [smtp] to


def mail(event: Event, o: SmtpOptions, server: SmtpConfig) -> EmailMessage:
    """The mail of one event (pure: no I/O)."""
    doc: dict[str, Any] = event.doc
    to = o.to or [t.strip() for t in server.to.split(",") if t.strip()]
    if not to:
        raise unset("smtp", "smtp.to")
    if not server.from_:
        raise unset("smtp", "smtp.from")
    msg = EmailMessage()
    msg["From"] = server.from_
    msg["To"] = ", ".join(to)
    msg["Subject"] = str(doc.get("message", "")).replace("\n", " ")
    msg["Date"] = formatdate(int(doc.get("time_ns") or 0) / 1e9, usegmt=True)
    msg["Message-ID"] = make_msgid(domain="kapacitor")
    if event.id:
        msg[H_EVENT_ID] = event.id
    lines = [str(doc.get("message", "")), ""]
    lines += [f"{label}: {doc[key]}" for label, key in BODY_FIELDS if doc.get(key) is not None]
    tags = doc.get("tags") or {}
    if tags:
        lines.append("Tags: " + ", ".join(f"{k}={v}" for k, v in sorted(tags.items())))
    msg.set_content("\n".join(lines) + "\n")
    return msg


class SmtpSender:
    def __init__(self, options: SmtpOptions, cfg: Config) -> None:
        self.options = options
        self.server = cfg.smtp

    async def send(self, event: Event) -> None:
        message = mail(event, self.options, self.server)
        await asyncio.to_thread(self._deliver, message)

    def _deliver(self, message: EmailMessage) -> None:
        import smtplib  # here: only the process that runs an smtp handler needs it

        s = self.server
        context = ssl.create_default_context()
        if s.no_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        timeout = self.options.timeout_s
        try:
            if s.port == TLS_PORT:
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=timeout, context=context
                )
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=timeout)
            with client:
                client.ehlo()
                if s.port != TLS_PORT and client.has_extn("starttls"):
                    client.starttls(context=context)
                    client.ehlo()
                elif s.port != TLS_PORT and s.username:
                    raise Undelivered(
                        f"smtp {s.host}:{s.port} offers no STARTTLS: the password is not sent "
                        "in the clear",
                        retry=False,
                    )
                if s.username:
                    client.login(s.username, s.password)
                client.send_message(message)
        except smtplib.SMTPAuthenticationError as e:
            raise Undelivered(f"smtp {s.host}:{s.port} refused the login: {e}", retry=False) from e
        except smtplib.SMTPRecipientsRefused as e:
            raise Undelivered(f"smtp {s.host}:{s.port} refused {e.recipients}", retry=False) from e
        except ssl.SSLCertVerificationError as e:
            raise Undelivered(f"smtp {s.host}:{s.port}: {e} ([smtp] no-verify)", retry=False) from e
        except (smtplib.SMTPException, OSError) as e:
            raise Undelivered(f"smtp {s.host}:{s.port}: {e}", retry=True) from e

    async def close(self) -> None:
        return None
