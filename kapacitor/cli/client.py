"""A small synchronous client for the Kapacitor HTTP API, over TCP or the unix socket."""

from __future__ import annotations

import os
from typing import Any

import httpx

from kapacitor.config import DEFAULT_CLI_URL
from kapacitor.errors import ClientError

TIMEOUT_S = 30.0


class ApiClient:
    def __init__(self, url: str | None = None, socket: str | None = None) -> None:
        self.url = (url or os.environ.get("KAPACITOR_URL") or DEFAULT_CLI_URL).rstrip("/")
        socket = socket or os.environ.get("KAPACITOR_UNIX_SOCKET") or None
        transport = httpx.HTTPTransport(uds=socket) if socket else None
        base = "http://kapacitor" if socket else self.url
        self.where = socket or self.url
        self._http = httpx.Client(base_url=base, timeout=TIMEOUT_S, transport=transport)

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kw)
        except httpx.ConnectError:
            raise ClientError(f"cannot reach kapacitord at {self.where}: is it running?") from None
        except httpx.TimeoutException:
            raise ClientError(
                f"kapacitord at {self.where} did not answer in {TIMEOUT_S:.0f}s"
            ) from None
        except httpx.HTTPError as e:
            raise ClientError(f"request to {self.where} failed: {e}") from None

    def call(self, method: str, path: str, **kw: Any) -> Any:
        """The JSON answer of a successful call; ClientError with the API's message otherwise."""
        r = self.request(method, path, **kw)
        if r.status_code == 204:
            return None
        try:
            doc = r.json()
        except ValueError:
            doc = None
        if r.status_code >= 400:
            msg = doc.get("error") if isinstance(doc, dict) else None
            err = ClientError(msg or f"HTTP {r.status_code}: {r.text[:200]}")
            err.doc = doc  # type: ignore[attr-defined]
            raise err
        return doc
