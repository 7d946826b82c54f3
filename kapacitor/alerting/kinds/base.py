"""What every kind shares: the event as handed to a sender, the options every kind takes,
and the failure a sender reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import msgspec

from kapacitor.config import parse_duration
from kapacitor.engine.events import render_message
from kapacitor.errors import HandlerError

DEFAULT_TIMEOUT = "10s"


@dataclass(frozen=True, slots=True)
class Event:
    """One alert event: its id (stable across redeliveries, for receivers to drop a copy), its
    JSON document as stored, and that document decoded."""

    id: str
    data: bytes
    doc: dict[str, Any]


class Sender(Protocol):
    async def send(self, event: Event) -> None: ...
    async def close(self) -> None: ...


class Undelivered(HandlerError):
    def __init__(self, message: str, *, retry: bool) -> None:
        self.retry = retry
        super().__init__(message)


def http_url_problem(url: str) -> str | None:
    """Why `url` is no http:// or https:// URL with a host, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"must be an http:// or https:// URL, got {url!r}"
    return None


class Options(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`timeout` bounds one attempt; `retries` is how many more attempts a failure that may
    pass gets (with backoff, docs/alerts.md)."""

    timeout: str = DEFAULT_TIMEOUT
    retries: int = 3

    def check(self) -> None:
        """Raise ValueError naming the option that is wrong (beyond its type)."""
        if parse_duration(self.timeout) <= 0:
            raise ValueError(f"timeout must be longer than 0, got {self.timeout!r}")
        if not 0 <= self.retries <= 100:
            raise ValueError(f"retries must be 0 to 100, got {self.retries}")

    def check_topic(self, topic: str) -> None:
        """Raise ValueError when the options do not suit a handler of `topic`."""

    @property
    def timeout_s(self) -> float:
        return parse_duration(self.timeout)


def template_values(doc: dict[str, Any]) -> dict[str, str]:
    """What a body template may name: the instance's tags, then the event's fields
    (`previous_level` for previousLevel; `{tags}` and `{json}`-like values are not offered)."""
    values = {str(k): str(v) for k, v in (doc.get("tags") or {}).items()}
    for k, v in doc.items():
        if k != "tags":
            values[k] = "" if v is None else str(v)
    values["previous_level"] = values.get("previousLevel", "")
    return values


def render(template: str, doc: dict[str, Any]) -> str:
    return render_message(template, template_values(doc))
