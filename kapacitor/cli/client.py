"""A small synchronous client for the Kapacitor HTTP API, over TCP or the unix socket."""

from __future__ import annotations

import os
import ssl
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
        ca_cert: str = "",
        insecure_skip_verify: bool = False,
    ) -> None:
        self.url = (url or os.environ.get("KAPACITOR_URL") or DEFAULT_CLI_URL).rstrip("/")
        socket = socket or os.environ.get("KAPACITOR_UNIX_SOCKET") or None
        transport = httpx.HTTPTransport(uds=socket) if socket else None
        base = "http://kapacitor" if socket else self.url
        self.where = socket or self.url
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        auth = httpx.BasicAuth(username, password) if username else None
        verify: ssl.SSLContext | bool = True
        if insecure_skip_verify:
            verify = False
        elif ca_cert:
            try:
                verify = ssl.create_default_context(cafile=ca_cert)
            except (OSError, ssl.SSLError) as e:
                raise ClientError(f"--ca-cert {ca_cert}: {e}") from None
        self._http = httpx.Client(
            base_url=base,
            timeout=TIMEOUT_S,
            transport=transport,
            headers=headers,
            auth=auth,
            verify=verify,
        )

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kw)
        except httpx.ConnectError as e:
            raise ClientError(self._unreachable(e)) from None
        except httpx.TimeoutException:
            raise ClientError(
                f"kapacitord at {self.where} did not answer in {TIMEOUT_S:.0f}s"
            ) from None
        except httpx.HTTPError as e:
            raise ClientError(f"request to {self.where} failed: {e}") from None

    def _unreachable(self, e: httpx.ConnectError) -> str:
        if "CERTIFICATE_VERIFY_FAILED" in str(e):
            return (
                f"the HTTPS certificate of {self.where} did not verify ({e}): give the CA with"
                " --ca-cert FILE (or, knowing the risk, --insecure-skip-verify)"
            )
        return f"cannot reach kapacitord at {self.where}: is it running?"

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
        except httpx.ConnectError as e:
            raise ClientError(self._unreachable(e)) from None
        except httpx.HTTPError as e:
            raise ClientError(f"request to {self.where} failed: {e}") from None
