"""One configured InfluxDB (`[[influxdb]]`) over HTTP: statements and writes with its
credentials, TLS settings and timeout, trying its next URL when one cannot be reached.

    async with InfluxCluster(cfg.influxdb_cluster()) as influx:
        doc = await influx.query("SHOW DATABASES")
        await influx.write("telegraf", "autogen", b"cpu value=1 1")

Errors are InfluxError, one line each, naming the URL and quoting InfluxDB's message.
"""

from __future__ import annotations

import ssl
from types import TracebackType
from typing import Any

import httpx
import orjson

from kapacitor.config import InfluxDBConfig
from kapacitor.errors import InfluxError
from kapacitor.influx.series import error_of
from kapacitor.outbound import quoted

__all__ = ["InfluxCluster", "tls_context"]

# What of InfluxDB's answer an error quotes: enough for its message, never a whole page.
QUOTE_CHARS = 300


def tls_context(cfg: InfluxDBConfig) -> ssl.SSLContext | bool:
    """The TLS settings of `cfg` as httpx takes them (True: the system's defaults)."""
    if not (cfg.ssl_ca or cfg.ssl_cert or cfg.insecure_skip_verify):
        return True
    ctx = ssl.create_default_context(cafile=cfg.ssl_ca or None)
    if cfg.insecure_skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cfg.ssl_cert:
        ctx.load_cert_chain(cfg.ssl_cert, cfg.ssl_key or None)
    return ctx


def _quote(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip()
    try:
        text = error_of(orjson.loads(text)) or text
    except orjson.JSONDecodeError:
        pass
    return quoted(text, QUOTE_CHARS)


class InfluxCluster:
    def __init__(
        self, cfg: InfluxDBConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.cfg = cfg
        self.name = cfg.name
        headers = {"Authorization": f"Token {cfg.token}"} if cfg.token else None
        auth = httpx.BasicAuth(cfg.username, cfg.password) if cfg.username else None
        try:
            verify = tls_context(cfg)
        except (OSError, ssl.SSLError) as e:
            raise InfluxError(f"influxdb {cfg.name!r}: cannot load its TLS files: {e}") from e
        self.http = httpx.AsyncClient(
            timeout=cfg.timeout.seconds or None,
            auth=auth,
            headers=headers,
            verify=verify,
            transport=transport,
        )
        self._url = 0  # the URL that answered last: tried first

    async def __aenter__(self) -> InfluxCluster:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self.http.aclose()

    @property
    def url(self) -> str:
        return self.cfg.urls[self._url].rstrip("/")

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request, to each URL in turn from the last that answered until one does."""
        urls = self.cfg.urls
        failures = []
        for step in range(len(urls)):
            i = (self._url + step) % len(urls)
            url = urls[i].rstrip("/")
            try:
                r = await self.http.request(method, url + path, **kwargs)
            except httpx.TimeoutException:
                failures.append(f"{url} did not answer in {self.cfg.timeout}")
                continue
            except httpx.TransportError as e:
                failures.append(f"cannot reach {url}: {e or type(e).__name__}")
                continue
            except httpx.HTTPError as e:  # an answer that cannot be read (bad encoding, ...)
                failures.append(f"unreadable answer from {url}: {e or type(e).__name__}")
                continue
            self._url = i
            return r
        raise InfluxError(f"influxdb {self.name!r}: " + "; ".join(failures))

    def _refused(self, r: httpx.Response, what: str) -> InfluxError:
        quoted = _quote(r.content)
        if r.status_code in (401, 403):
            return InfluxError(
                f"influxdb {self.name!r} at {self.url} refused the credentials: {quoted}"
            )
        return InfluxError(
            f"influxdb {self.name!r} at {self.url} {what}: HTTP {r.status_code}: {quoted}"
        )

    async def query(self, q: str, db: str = "", rp: str = "", *, write: bool = False) -> Any:
        """The answer to `q` (timestamps in ns; `rp`: of measurements it does not qualify);
        `write` sends it with POST, as InfluxDB wants for statements that change something
        (CREATE, DROP)."""
        params = {"q": q, "epoch": "ns"}
        if db:
            params["db"] = db
        if rp:
            params["rp"] = rp
        if write:
            r = await self._send("POST", "/query", data=params)
        else:
            r = await self._send("GET", "/query", params=params)
        if r.status_code != 200:
            raise self._refused(r, "rejected the query")
        try:
            doc = orjson.loads(r.content)
        except orjson.JSONDecodeError as e:
            raise InfluxError(f"influxdb {self.name!r} sent an unreadable answer: {e}") from None
        err = error_of(doc)
        if err is not None:
            raise InfluxError(f"influxdb {self.name!r} rejected {q!r}: {err}")
        return doc

    async def write(self, db: str, rp: str, body: bytes, precision: str = "ns") -> None:
        params = {"db": db, "precision": precision}
        if rp:
            params["rp"] = rp
        r = await self._send("POST", "/write", params=params, content=body)
        if r.status_code != 204:
            raise self._refused(r, "refused a write")
