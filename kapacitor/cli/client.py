"""A small synchronous client for the Kapacitor HTTP API, over TCP or the unix socket."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from kapacitor.config import DEFAULT_CLI_URL
from kapacitor.errors import ClientError

TIMEOUT_S = 30.0


class ApiClient:
    def __init__(
        self,
        url: str | None = None,
        socket: str | None = None,
        *,
        token: str = "",
        username: str = "",
        password: str = "",
    ) -> None:
        self.url = (url or os.environ.get("KAPACITOR_URL") or DEFAULT_CLI_URL).rstrip("/")
        socket = socket or os.environ.get("KAPACITOR_UNIX_SOCKET") or None
        transport = httpx.HTTPTransport(uds=socket) if socket else None
        base = "http://kapacitor" if socket else self.url
        self.where = socket or self.url
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        auth = httpx.BasicAuth(username, password) if username else None
        self._http = httpx.Client(
            base_url=base, timeout=TIMEOUT_S, transport=transport, headers=headers, auth=auth
        )

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
        return self.call_status(method, path, **kw)[1]

    def call_status(self, method: str, path: str, **kw: Any) -> tuple[int, Any]:
        """`call`, with the status of the answer (201 created, 200 replaced, ...)."""
        r = self.request(method, path, **kw)
        if r.status_code == 204:
            return 204, None
        try:
            doc = r.json()
        except ValueError:
            doc = None
        if r.status_code >= 400:
            msg = doc.get("error") if isinstance(doc, dict) else None
            if r.status_code in (401, 403) and not msg:
                msg = f"{self.where} refused the credentials (HTTP {r.status_code})"
            raise ClientError(
                msg or f"HTTP {r.status_code}: {r.text[:200]}", status=r.status_code, document=doc
            )
        return r.status_code, doc

    @contextmanager
    def stream(self, method: str, path: str, **kw: Any) -> Iterator[Iterator[str]]:
        """The lines of a streamed answer (NDJSON); ClientError when the call fails."""
        try:
            with self._http.stream(method, path, timeout=None, **kw) as r:
                if r.status_code >= 400:
                    r.read()
                    try:
                        doc = r.json()
                    except ValueError:
                        doc = None
                    msg = doc.get("error") if isinstance(doc, dict) else None
                    raise ClientError(
                        msg or f"HTTP {r.status_code}", status=r.status_code, document=doc
                    )
                yield (line for line in r.iter_lines() if line.strip())
        except httpx.ConnectError:
            raise ClientError(f"cannot reach kapacitord at {self.where}: is it running?") from None
        except httpx.HTTPError as e:
            raise ClientError(f"request to {self.where} failed: {e}") from None
