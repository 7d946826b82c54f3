"""Pulling from a JetStream consumer: one request at a time, each ended before `fetch` returns.

nats-py's `fetch()` costs, for every message it returns, a task, a uuid4 and a timer, and
before every wait a no-wait probe and a second request: on R1 about three requests or status
messages for each message delivered. Here a request asks for up to `batch` messages "at once
or, when there are none, as soon as one comes" (no_wait with an expiry): the server sends what
is there and ends the request with a status message, and messages land in a list through a
subscription callback.

`fetch` returns only once its request has ended, so no request of ours is left open on the
server while the caller works: a message nak'd or redelivered meanwhile is not handed to a
request nobody will read (the server checks a request's interest only now and then), and
several processes pulling from one consumer never leave one another's messages stranded.
"""

from __future__ import annotations

import asyncio

import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from kapacitor.bus import subjects
from kapacitor.errors import BusError

# Past its expiry plus this, a request whose end the server never reported (a status lost in
# a reconnect) counts as ended.
REQUEST_GRACE_S = 1.0
MIN_EXPIRES_S = 0.005  # a request with less time than this left is not worth sending

_STATUS = "Status"
_DESCRIPTION = "Description"
_HEARTBEAT = "100"
_ENDED_NORMALLY = ("404", "408")  # all there was has been sent / expired with nothing


class Pull:
    """A durable consumer's messages, fetched `batch` at a time (see the module docstring)."""

    def __init__(self, nc: Client, next_subject: str) -> None:
        self._nc = nc
        self._next = next_subject
        self._inbox = nc.new_inbox()
        self._sub: Subscription | None = None
        self._got: list[Msg] = []
        self._credit = 0  # messages the open request may still bring
        self._request_over_at = 0.0  # loop time when the open request has surely ended
        self._error = ""  # the status that ended the last request abnormally, until reported
        self._wake: asyncio.Future[None] | None = None

    @classmethod
    async def open(cls, nc: Client, stream: str, durable: str) -> Pull:
        pull = cls(nc, subjects.consumer_next(stream, durable))
        pull._sub = await nc.subscribe(pull._inbox, cb=pull._arrived)
        return pull

    async def fetch(self, batch: int, *, timeout: float, wait: float = 0.0) -> list[Msg]:
        """Up to `batch` messages in stream order: the first within `timeout` seconds (else
        none), then up to `wait` seconds more for others. BusError when the server ended a
        request abnormally (no stream leader, too many waiting requests, consumer deleted)
        and nothing came."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        await self._gather(1, batch, deadline, loop)
        if self._got and wait > 0:
            await self._gather(batch, batch, loop.time() + wait, loop)
        while self._credit > 0 and await self._sleep_until(self._request_over_at, loop):
            pass  # the open request ends at once (no_wait) or at its expiry
        self._credit = 0
        out = self._got[:batch]
        del self._got[:batch]
        if not out and self._error:
            error, self._error = self._error, ""
            raise BusError(f"fetch failed: {error}")
        return out

    async def close(self) -> None:
        """Stop receiving; what arrived and was not fetched is redelivered after ack_wait."""
        if self._sub is not None:
            await self._sub.unsubscribe()
            self._sub = None
        self._got.clear()

    async def _gather(
        self, enough: int, batch: int, deadline: float, loop: asyncio.AbstractEventLoop
    ) -> None:
        """Request and wait until `enough` messages are here, an error, or `deadline`."""
        while len(self._got) < enough and not self._error:
            if not await self._ask(batch, deadline, loop):
                return
            if not await self._sleep_until(deadline, loop):
                return

    async def _ask(self, batch: int, deadline: float, loop: asyncio.AbstractEventLoop) -> bool:
        """Send a request unless one is open; False when none is open and no time is left."""
        now = loop.time()
        if self._credit > 0 and now < self._request_over_at:
            return True
        expires = deadline - now
        if expires < MIN_EXPIRES_S:
            return False
        want = batch - len(self._got)
        request = {"batch": want, "no_wait": True, "expires": int(expires * 1e9)}
        await self._nc.publish(self._next, orjson.dumps(request), reply=self._inbox)
        self._credit = want
        self._request_over_at = now + expires + REQUEST_GRACE_S
        return True

    async def _arrived(self, msg: Msg) -> None:
        headers = msg.headers
        status = headers.get(_STATUS) if headers else None
        if headers is None or status is None:
            self._got.append(msg)
            if self._credit > 0:
                self._credit -= 1
        elif status == _HEARTBEAT:
            return
        else:
            self._credit = 0  # whatever the status, it ends the request
            if status not in _ENDED_NORMALLY:
                self._error = f"{status} {headers.get(_DESCRIPTION, '')}".strip()
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def _sleep_until(self, deadline: float, loop: asyncio.AbstractEventLoop) -> bool:
        """Wait for an arrival or `deadline`; False when the deadline had already passed."""
        left = deadline - loop.time()
        if left <= 0:
            return False
        self._wake = wake = loop.create_future()
        timer = loop.call_later(left, _resolve, wake)
        try:
            await wake
        finally:
            timer.cancel()
            self._wake = None
        return True


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
