"""Alert handlers: the alert log (JSON lines) and the webhook (HTTP POST).

Each handler owns a bounded queue and a worker task, so a slow endpoint never stalls the
interpreter; when a queue is full the event is dropped and counted.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Protocol

import httpx

log = logging.getLogger("kapacitor.alerting")

QUEUE_SIZE = 5000
WEBHOOK_RETRIES = 3
WEBHOOK_RETRY_WAIT_S = 0.5
H_EVENT_ID = "X-Kapacitor-Event-Id"


class Handler(Protocol):
    def send(self, doc: bytes) -> None: ...
    async def close(self) -> None: ...


class AlertLog:
    """Appends each event as one JSON line; flushed per batch of events."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._f = path.open("ab")

    def send(self, doc: bytes) -> None:
        self._f.write(doc + b"\n")

    def flush(self) -> None:
        self._f.flush()

    async def close(self) -> None:
        self._f.close()


class Webhook:
    """POSTs each event to `url` as JSON, with a timeout and bounded retries."""

    def __init__(self, url: str, timeout_s: float) -> None:
        self.url = url
        self.dropped = 0
        self.failed = 0
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE_SIZE)
        self._client = httpx.AsyncClient(timeout=timeout_s)
        self._task = asyncio.get_running_loop().create_task(self._run())

    def send(self, doc: bytes) -> None:
        try:
            self._queue.put_nowait(doc)
        except asyncio.QueueFull:
            self.dropped += 1

    async def _run(self) -> None:
        while True:
            doc = await self._queue.get()
            await self.post(doc)
            self._queue.task_done()

    async def post(self, doc: bytes, event_id: str = "") -> bool:
        """POST one event now, retried on a 5xx or a failure; whether the receiver took it (a
        4xx is its final answer, logged). `event_id` goes along as X-Kapacitor-Event-Id, for
        receivers to drop a copy."""
        headers = {"Content-Type": "application/json"}
        if event_id:
            headers[H_EVENT_ID] = event_id
        for attempt in range(WEBHOOK_RETRIES):
            try:
                r = await self._client.post(self.url, content=doc, headers=headers)
                if r.status_code < 500:
                    if r.status_code >= 400:
                        log.warning("webhook %s answered %d", self.url, r.status_code)
                    return r.status_code < 400
            except httpx.HTTPError as e:
                log.warning("webhook %s failed (attempt %d): %s", self.url, attempt + 1, e)
            await asyncio.sleep(WEBHOOK_RETRY_WAIT_S * (attempt + 1))
        self.failed += 1
        return False

    async def drain(self, timeout: float = 5.0) -> None:
        try:
            await asyncio.wait_for(self._queue.join(), timeout)
        except TimeoutError:
            pass

    async def close(self) -> None:
        await self.drain()
        self._task.cancel()
        await self._client.aclose()
