"""kind: sensu — a check result to the Sensu client socket `[sensu] addr` (Kapacitor's sensu
handler): one JSON line with name, source, output, status by level (OK and INFO 0, WARNING 1,
CRITICAL 2) and handlers, `metadata` as further fields; the client answers "ok".

Sensu check names hold only letters, digits, `_ . -`: other characters of the alert id (`:`
`,` `=` of a series key) become `_` (Kapacitor refused such ids and sent nothing)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import msgspec
import orjson

from kapacitor.alerting.kinds.base import Event, Options, Undelivered, render
from kapacitor.alerting.kinds.http import unset
from kapacitor.config import Config, SensuConfig

STATUS = {"OK": 0, "INFO": 0, "WARNING": 1, "CRITICAL": 2}
_NOT_NAME = re.compile(r"[^\w.-]")
MAX_ANSWER = 100


class SensuOptions(Options, frozen=True, kw_only=True, forbid_unknown_fields=True):
    source: str = ""  # a template over the event; "": [sensu] source
    handlers: list[str] = msgspec.field(default_factory=list)  # []: [sensu] handlers
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)


def sensu_check(event: Event, o: SensuOptions, server: SensuConfig) -> bytes:
    doc = event.doc
    handlers = o.handlers or [h.strip() for h in server.handlers.split(",") if h.strip()]
    check: dict[str, Any] = dict(o.metadata)
    check |= {
        "handlers": handlers or None,
        "name": _NOT_NAME.sub("_", str(doc.get("id", ""))),
        "output": str(doc.get("message", "")),
        "source": (render(o.source, doc) if o.source else "") or server.source,
        "status": STATUS.get(str(doc.get("level")), 3),
    }
    return orjson.dumps(check, option=orjson.OPT_SORT_KEYS) + b"\n"


class SensuSender:
    def __init__(self, options: SensuOptions, cfg: Config) -> None:
        self.options = options
        self.server = cfg.sensu

    async def send(self, event: Event) -> None:
        if not self.server.addr:
            raise unset("sensu", "sensu.addr")
        host, _, port = self.server.addr.rpartition(":")
        line = sensu_check(event, self.options, self.server)
        try:
            async with asyncio.timeout(self.options.timeout_s):
                reader, writer = await asyncio.open_connection(host.strip("[]"), int(port))
                try:
                    writer.write(line)
                    await writer.drain()
                    answer = await reader.read(MAX_ANSWER)
                finally:
                    writer.close()
                    await writer.wait_closed()
        except (OSError, ValueError, TimeoutError) as e:
            raise Undelivered(f"sensu {self.server.addr}: {e or 'timed out'}", retry=True) from e
        if answer.strip() != b"ok":
            raise Undelivered(f"sensu answered {answer[:MAX_ANSWER]!r}, not ok", retry=True)

    async def close(self) -> None:
        return None
