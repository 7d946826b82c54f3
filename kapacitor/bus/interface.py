"""The seam between services and NATS: what a service does with the bus, as Protocols.

`NatsBus` (kapacitor/bus/client.py) implements it over a nats-py connection. A service written
against `Bus` can be driven in a test by a real nats-server through `NatsBus`, or by a fake
where the network is beside the point. Failures reach callers as BusError subclasses
(ServiceUnavailable when nobody answers a request), never as nats exceptions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["Bus", "Delivery", "Handler", "Message", "Puller", "Stored", "Subscription"]


@dataclass(frozen=True, slots=True)
class Message:
    """One message as a handler sees it; `respond` answers a request (no-op without `reply`)."""

    subject: str
    data: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    reply: str = ""
    bus: Bus | None = None

    def header(self, key: str, default: str = "") -> str:
        return self.headers.get(key, default)

    async def respond(self, data: bytes) -> None:
        if self.reply and self.bus is not None:
            await self.bus.publish(self.reply, data)


Handler = Callable[[Message], Awaitable[None]]


class Delivery(Protocol):
    """A message from a durable stream consumer: acked once handled, or terminated (never
    redelivered) when it cannot be handled at all."""

    @property
    def subject(self) -> str: ...

    @property
    def data(self) -> bytes: ...

    @property
    def sequence(self) -> int:
        """Its sequence number in the stream."""
        ...

    def header(self, key: str) -> str:
        """A header it was published with ('' when absent)."""
        ...

    @property
    def pending(self) -> int:
        """How many messages of its consumer were still to deliver when it was delivered:
        how far behind the reader is."""
        ...

    def release(self) -> None:
        """Drop the payload (it has been read): a message kept only to be acked later then
        holds its ack subject, not its points."""
        ...

    async def ack(self) -> None: ...

    async def ack_sync(self) -> None:
        """Acknowledge, and wait until the server has recorded it."""
        ...

    async def term(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Stored:
    """One message for `Bus.store_all`; `msg_id` ('' for none) lets the stream drop a copy it
    stored within its duplicate window; `headers` go along."""

    subject: str
    data: bytes
    msg_id: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)


class Subscription(Protocol):
    async def unsubscribe(self) -> None: ...


class Puller(Protocol):
    """A bound durable consumer; its deliveries are acked (or not) by the caller, at any time."""

    async def fetch(self, batch: int, *, wait: float = 0.0) -> Sequence[Delivery]:
        """Up to `batch` messages in stream order: waits about a second for the first (then
        returns none) and up to `wait` seconds more for others."""
        ...

    async def close(self) -> None: ...


class Bus(Protocol):
    async def publish(
        self, subject: str, data: bytes, *, headers: Mapping[str, str] | None = None
    ) -> None:
        """Fire and forget (captured by a stream when one listens on `subject`)."""
        ...

    async def store(self, subject: str, data: bytes, *, stream: str) -> None:
        """Publish into a JetStream stream and wait for its ack: the data is durable."""
        ...

    async def store_all(self, messages: Sequence[Stored], *, stream: str, timeout: float) -> None:
        """Publish `messages` into a JetStream stream pipelined, in order, and wait until the
        stream acked every one; BusError when one fails or is not acked within `timeout`
        seconds (then some may be stored: their msg ids make storing them again harmless)."""
        ...

    async def store_all_later(
        self, messages: Sequence[Stored], *, stream: str, timeout: float
    ) -> Awaitable[None]:
        """`store_all` in two steps: publish now, in order, and return what waits for the
        acks (raising as store_all does), so a caller can publish more meanwhile."""
        ...

    async def request(
        self,
        subject: str,
        data: bytes,
        *,
        timeout: float,
        headers: Mapping[str, str] | None = None,
        responder: str = "service",
    ) -> Message:
        """The answer of whoever serves `subject`; ServiceUnavailable when no one does, or not
        within `timeout` seconds (`responder` names them in the error message)."""
        ...

    async def subscribe(self, subject: str, handler: Handler, *, queue: str = "") -> Subscription:
        """Call `handler` for each message on `subject` (one at a time, in order); with a
        `queue`, each message goes to one subscriber of the queue group."""
        ...

    async def consume_batches(
        self,
        stream: str,
        durable: str,
        batch: int,
        stop: asyncio.Event,
        handle: Callable[[Sequence[Delivery]], Awaitable[None]],
        *,
        wait: float = 0.0,
    ) -> None:
        """Pull from a durable consumer of `stream` until `stop` is set; `handle` gets each fetch
        whole (up to `batch` messages, in stream order, gathered for up to `wait` seconds after
        the first). Every message it did not `term` is acked once it returns; when it raises,
        those are nak'ed (they come back before newer messages) and the error propagates."""
        ...

    async def fresh_consumer(
        self, stream: str, durable: str, subject: str, *, ack_wait: float, max_pending: int
    ) -> Puller:
        """(Re)create the durable consumer `durable` of `stream` on `subject`, delivering from
        the start of the stream: on a work queue, every message not yet acknowledged, those
        delivered to a previous holder of the consumer included, at once. `ack_wait` seconds
        after a delivery an unacknowledged message is delivered again; at most `max_pending`
        are delivered and unacknowledged at a time."""
        ...

    async def take_over_consumer(
        self,
        stream: str,
        durable: str,
        subject: str | Sequence[str],
        *,
        ack_wait: float,
        max_pending: int,
        ack_all: bool = False,
    ) -> Puller:
        """The durable consumer `durable` of `stream`, re-created to deliver from just after
        its acknowledged floor: what a previous holder had delivered but not acknowledged comes
        again at once, what it acknowledged never does (a new consumer starts with what is
        stored from now on). With `ack_all`, acknowledging a message acknowledges every
        earlier one."""
        ...

    async def delete_consumer(self, stream: str, durable: str) -> None:
        """Delete a durable consumer if it exists."""
        ...

    async def first_sequence(self, stream: str) -> int:
        """The sequence of the oldest message `stream` still holds."""
        ...

    async def flush(self) -> None:
        """Wait until everything published so far has reached the server."""
        ...
