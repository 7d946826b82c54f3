"""Connecting to NATS and declaring the streams, consumers and KV buckets the services share."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import nats
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    KeyValueConfig,
    ObjectStoreConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BadRequestError, KeyNotFoundError, NotFoundError
from nats.js.kv import KeyValue
from nats.js.object_store import ObjectStore

from kapacitor.bus import subjects
from kapacitor.bus.interface import Delivery, Handler, Message, Puller, Stored, Subscription
from kapacitor.bus.pull import Pull
from kapacitor.bus.ttl_kv import TtlKv
from kapacitor.config import DEFAULT_ALERTS_KEEP, STORE_ACK_TIMEOUT_S
from kapacitor.errors import BusError, ServiceUnavailable
from kapacitor.tasks import cancel_and_wait

log = logging.getLogger("kapacitor.bus")
_K = TypeVar("_K")
_V = TypeVar("_V")
WATCH_RETRY_S = 0.5  # before a failed KV watcher is started again

CONNECT_TIMEOUT_S = 5.0
ACK_WAIT_S = 60.0
MAX_ACK_PENDING = 256
FETCH_TIMEOUT_S = 1.0

# What a NATS call can raise when the bus fails (no server, closed connection, timeouts):
# the HTTP API answers these 503 like any BusError.
NATS_ERRORS: tuple[type[Exception], ...] = (nats.errors.Error,)


async def connect(url: str, name: str, *, retry_for: float = 30.0) -> Client:
    """Connect, retrying while the server comes up; once connected, reconnect forever."""

    async def _err(e: Exception) -> None:
        log.warning("nats error: %s", e)

    async def _disc() -> None:
        log.info("nats disconnected")

    async def _reconn() -> None:
        log.info("nats reconnected")

    loop = asyncio.get_running_loop()
    deadline = loop.time() + retry_for
    last: Exception | None = None
    while loop.time() < deadline:
        try:
            return await nats.connect(
                url.split(","),
                name=name,
                connect_timeout=2,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                allow_reconnect=True,
                error_cb=_err,
                disconnected_cb=_disc,
                reconnected_cb=_reconn,
            )
        except Exception as e:  # nats raises plain OSError/TimeoutError variants here
            last = e
            await asyncio.sleep(0.2)
    raise BusError(f"cannot connect to NATS at {url}: {last}")


async def _missing(js: JetStreamContext, stream: str) -> bool:
    try:
        await js.stream_info(stream)
    except NotFoundError:
        return True
    return False


async def _ensure_stream(js: JetStreamContext, cfg: StreamConfig, lost: list[str]) -> None:
    if cfg.name is not None and await _missing(js, cfg.name):
        lost.append(cfg.name)
    try:
        await js.add_stream(cfg)
    except BadRequestError:
        await js.update_stream(cfg)


async def ensure_topology(
    js: JetStreamContext,
    points_max_bytes: int = 2 * 1024**3,
    replicas: int = 1,
    alerts_keep: int = DEFAULT_ALERTS_KEEP,
) -> None:
    """Create (or update) every stream, consumer and bucket, with `replicas` copies on a NATS
    cluster; safe to call from every service. On a deployment that existed (it has its id), a
    stream or bucket found missing (deleted by hand, or by anyone on an open bus) is made again,
    empty, and its loss logged."""
    deployed = not await _missing(js, f"KV_{subjects.CLUSTER_BUCKET}")
    lost: list[str] = []
    # Points wait in work queues until their consumer acks them: a 204 means durable. A MATCHED
    # stream made before partitions captured only kapacitor.plugin.>: updating it keeps its
    # messages, which the matcher splits into partitions (so the subject stays).
    for name, names in (
        (subjects.POINTS_STREAM, [subjects.POINTS_IN]),
        (subjects.MATCHED_STREAM, [subjects.MATCHED_ALL, subjects.MATCHED_LEGACY_ALL]),
    ):
        await _ensure_stream(
            js,
            StreamConfig(
                name=name,
                subjects=names,
                retention=RetentionPolicy.WORK_QUEUE,
                storage=StorageType.FILE,
                max_bytes=points_max_bytes,
                discard=DiscardPolicy.NEW,
                num_replicas=replicas,
            ),
            lost,
        )
    await _ensure_stream(
        js,
        StreamConfig(
            name=subjects.ALERTS_STREAM,
            subjects=[subjects.ALERTS_ALL],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            max_msgs=alerts_keep,
            num_replicas=replicas,
        ),
        lost,
    )
    await _ensure_stream(
        js,
        StreamConfig(
            name=subjects.RECORDINGS_STREAM,
            subjects=[subjects.RECORDINGS_ALL],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            num_replicas=replicas,
        ),
        lost,
    )
    try:
        await js.consumer_info(subjects.POINTS_STREAM, subjects.MATCHER_CONSUMER)
    except NotFoundError:
        await js.add_consumer(
            subjects.POINTS_STREAM,
            pull_config(subjects.MATCHER_CONSUMER, None, ACK_WAIT_S, MAX_ACK_PENDING),
        )
    # Created with the topology, before any service publishes an alert event: every event
    # stored from then on is delivered; those of a kapacitord from before it never again.
    for durable, subject in (
        (subjects.NOTIFIER_CONSUMER, subjects.ALERTS_ALL),
        (subjects.TOPICS_CONSUMER, subjects.TOPIC_ALERTS_ALL),
    ):
        try:
            await js.consumer_info(subjects.ALERTS_STREAM, durable)
        except NotFoundError:
            config = pull_config(durable, subject, ACK_WAIT_S, MAX_ACK_PENDING)
            config.deliver_policy = DeliverPolicy.NEW
            config.ack_policy = AckPolicy.ALL
            await js.add_consumer(subjects.ALERTS_STREAM, config)
    # The interpreters' consumer before partitions: its filter overlaps the partitions' (a
    # work queue refuses that), and what it had delivered but not acked goes to them.
    with contextlib.suppress(NotFoundError):
        await js.delete_consumer(subjects.MATCHED_STREAM, subjects.INTERPRETER_CONSUMER)
    for bucket in (
        subjects.PLUGINS_BUCKET,
        subjects.STATS_BUCKET,
        subjects.RECORDINGS_BUCKET,
        subjects.POINTERS_BUCKET,
        subjects.TOPIC_HANDLERS_BUCKET,
        subjects.HANDLER_STATS_BUCKET,
        subjects.TOPICS_BUCKET,
        subjects.SILENCES_BUCKET,
        subjects.CLUSTER_BUCKET,
        subjects.SCHEDULE_BUCKET,
        subjects.AUTH_BUCKET,
    ):
        if bucket != subjects.CLUSTER_BUCKET and await _missing(js, f"KV_{bucket}"):
            lost.append(f"bucket {bucket}")
        await kv_bucket(js, bucket, replicas)
    for bucket in (subjects.MEMBERS_BUCKET, subjects.LEASES_BUCKET, subjects.INPUTS_BUCKET):
        await TtlKv.open(js, bucket, replicas)
    await state_bucket(js, replicas)
    if deployed and lost:
        log.warning(
            "%s missing from this deployment: made again, empty (what it held is lost)",
            ", ".join(lost),
        )


async def state_bucket(js: JetStreamContext, replicas: int = 1) -> ObjectStore:
    try:
        return await js.object_store(subjects.STATE_BUCKET)
    except NotFoundError:
        return await js.create_object_store(
            subjects.STATE_BUCKET,
            ObjectStoreConfig(bucket=subjects.STATE_BUCKET, replicas=replicas),
        )


async def kv_bucket(js: JetStreamContext, bucket: str, replicas: int = 1) -> KeyValue:
    try:
        return await js.key_value(bucket)
    except (NotFoundError, BadRequestError, Exception) as e:  # bucket missing: create it
        if isinstance(e, asyncio.CancelledError):
            raise
        return await js.create_key_value(
            KeyValueConfig(bucket=bucket, history=1, storage=StorageType.FILE, replicas=replicas)
        )


async def setup(
    url: str, name: str, replicas: int = 1, alerts_keep: int = DEFAULT_ALERTS_KEEP
) -> tuple[Client, JetStreamContext]:
    nc = await connect(url, name)
    js = nc.jetstream(timeout=STORE_ACK_TIMEOUT_S)
    await ensure_topology(js, replicas=replicas, alerts_keep=alerts_keep)
    return nc, js


async def shutdown(nc: Client, *tasks: asyncio.Task[Any]) -> None:
    """Cancel a service's background tasks, then flush and close its connection.

    Not `drain()`: every message is acked before the next is fetched, so nothing is in flight,
    and draining live KV watchers can hang for the whole drain timeout.
    """
    await cancel_and_wait(*tasks)
    if nc.is_connected:
        await nc.flush()
    await nc.close()


async def watch_bucket(
    kv: KeyValue,
    key_of: Callable[[str], _K],
    decode: Callable[[bytes], _V],
    on_change: Callable[[dict[_K, _V]], Awaitable[None]],
    what: str,
) -> None:
    """Call `on_change(every value of the bucket, by key_of(key))` at start and after every
    change, forever. The watcher is restarted when it fails: KV watchers have had bugs, and a
    missed change would leave a service on a stale definition."""
    while True:
        try:
            current = {key_of(k): decode(v) for k, v in await _watched_items(kv)}
            await on_change(dict(current))
            watcher = await kv.watchall(include_history=False)
            async for entry in watcher:
                if entry is None:
                    continue
                key = key_of(entry.key)
                if entry.operation in ("DEL", "PURGE") or not entry.value:
                    current.pop(key, None)
                else:
                    current[key] = decode(entry.value)
                await on_change(dict(current))
        except asyncio.CancelledError:
            raise
        except Exception as e:  # loop boundary: log, then re-list and re-watch
            log.warning("%s watch failed, restarting: %s", what, e)
            await asyncio.sleep(WATCH_RETRY_S)


async def kv_items(
    js: JetStreamContext, bucket: str, kv: KeyValue, keys: str
) -> list[tuple[str, bytes]]:
    """(key, value) of every value whose key matches the subject pattern `keys`, found from
    the bucket stream's subjects (stream info), not by a KV watcher: a watcher started while
    the bucket is written can report that it has caught up before it delivered anything (seen
    under load: a topic listed with its alerts, then shown with none). nats-py's
    `keys(filters=...)` matches substrings, not patterns."""
    prefix = f"$KV.{bucket}."
    info = await js.stream_info(f"KV_{bucket}", subjects_filter=prefix + keys)
    found = []
    for subject in sorted(info.state.subjects or {}):
        key = subject.removeprefix(prefix)
        try:
            entry = await kv.get(key)
        except KeyNotFoundError:  # deleted or purged: its marker is its last message
            continue
        if entry.value:
            found.append((key, entry.value))
    return found


async def _watched_items(kv: KeyValue) -> list[tuple[str, bytes]]:
    """Every value of the bucket through a watcher: what watch_bucket starts from (a value
    this misses, the watcher that follows delivers)."""
    found: list[tuple[str, bytes]] = []
    watcher = await kv.watchall(ignore_deletes=True)
    try:
        async for entry in watcher:
            if entry is None:
                break
            if entry.value:
                found.append((entry.key, entry.value))
    finally:
        await watcher.stop()  # type: ignore[no-untyped-call]
    return found


async def kv_values(kv: KeyValue) -> list[bytes]:
    """Every non-empty value in a bucket (keys deleted meanwhile are skipped), found as
    kv_items finds them: `kv.keys()` runs a watcher, which can report that it has caught up
    before it delivered anything (a recording just stored was missing from `recordings`)."""
    # nats-py keeps the bucket's JetStream context and name on the KeyValue (no public API).
    js: JetStreamContext = kv._js
    return [value for _, value in await kv_items(js, kv._name, kv, ">")]


class _JsDelivery:
    """A JetStream message as a Delivery; `settled` once acked or terminated."""

    __slots__ = ("_msg", "settled")

    def __init__(self, msg: Msg) -> None:
        self._msg = msg
        self.settled = False

    @property
    def subject(self) -> str:
        return self._msg.subject

    @property
    def data(self) -> bytes:
        return self._msg.data

    @property
    def sequence(self) -> int:
        return int(self._msg.metadata.sequence.stream)

    def header(self, key: str) -> str:
        return (self._msg.headers or {}).get(key, "")

    @property
    def pending(self) -> int:
        return int(self._msg.metadata.num_pending or 0)

    def release(self) -> None:
        self._msg.data = b""

    async def ack(self) -> None:
        await self._settle(self._msg.ack(), "acknowledge")

    async def ack_sync(self) -> None:
        await self._settle(self._msg.ack_sync(), "acknowledge")

    async def term(self) -> None:
        await self._settle(self._msg.term(), "terminate")

    async def _settle(self, call: Awaitable[object], verb: str) -> None:
        self.settled = True
        try:
            await call
        except (nats.errors.Error, TimeoutError) as e:
            raise BusError(f"cannot {verb} message {self.sequence}: {e}") from e

    async def nak(self) -> None:
        self.settled = True
        await self._msg.nak()


async def _acks(futures: list[asyncio.Future[Any]], stream: str, timeout: float) -> None:
    if not futures:
        return
    try:
        await asyncio.wait_for(asyncio.gather(*futures), timeout)
    except TimeoutError:
        for f in futures:
            f.cancel()
        raise BusError(
            f"stream {stream} did not ack {len(futures)} message(s) in {timeout}s"
        ) from None
    except NATS_ERRORS as e:
        raise BusError(f"stream {stream} refused a message: {e}") from e


def _headers(m: Stored) -> dict[str, str] | None:
    """A fresh headers dict per message: nats-py may keep or mutate the one it is given."""
    out = dict(m.headers)
    if m.msg_id:
        out[subjects.H_MSG_ID] = m.msg_id
    return out or None


def pull_config(
    durable: str, subject: str | Sequence[str] | None, ack_wait: float, max_pending: int
) -> ConsumerConfig:
    """A durable pull consumer of `subject`, or of each of several subjects."""
    several = [subject] if subject is None or isinstance(subject, str) else list(subject)
    return ConsumerConfig(
        durable_name=durable,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ack_wait,
        max_ack_pending=max_pending,
        max_waiting=64,
        filter_subject=several[0] if len(several) == 1 else None,
        filter_subjects=[s for s in several if s is not None] if len(several) > 1 else None,
    )


class _JsPuller:
    def __init__(self, pull: Pull) -> None:
        self._pull = pull

    @classmethod
    async def open(cls, nc: Client, stream: str, durable: str) -> _JsPuller:
        return cls(await Pull.open(nc, stream, durable))

    async def fetch(self, batch: int, *, wait: float = 0.0) -> list[_JsDelivery]:
        try:
            msgs = await self._pull.fetch(batch, timeout=FETCH_TIMEOUT_S, wait=wait)
        except NATS_ERRORS as e:  # the connection is closed or reconnecting
            raise BusError(f"fetch failed: {type(e).__name__} {e}") from e
        return [_JsDelivery(m) for m in msgs]

    async def close(self) -> None:
        with contextlib.suppress(*NATS_ERRORS):
            await self._pull.close()


class NatsBus:
    """The `Bus` of services, over one nats-py connection (and its JetStream context, which the
    KV-backed stores are built on)."""

    def __init__(self, nc: Client, js: JetStreamContext) -> None:
        self.nc = nc
        self.js = js

    def _message(self, msg: Msg) -> Message:
        return Message(msg.subject, msg.data, msg.headers or {}, msg.reply, self)

    async def publish(
        self, subject: str, data: bytes, *, headers: Mapping[str, str] | None = None
    ) -> None:
        await self.nc.publish(subject, data, headers=dict(headers) if headers else None)

    async def store(self, subject: str, data: bytes, *, stream: str) -> None:
        await self.js.publish(subject, data, stream=stream)

    async def store_all(self, messages: Sequence[Stored], *, stream: str, timeout: float) -> None:
        await (await self.store_all_later(messages, stream=stream, timeout=timeout))

    async def store_all_later(
        self, messages: Sequence[Stored], *, stream: str, timeout: float
    ) -> Awaitable[None]:
        # publish_async sends at once and returns a future per message; the futures never time
        # out by themselves, hence the one deadline over all of them. Each message gets its own
        # headers dict: nats-py may keep or mutate the one it is given.
        try:
            futures = [
                await self.js.publish_async(
                    m.subject,
                    m.data,
                    stream=stream,
                    headers=_headers(m),
                )
                for m in messages
            ]
        except NATS_ERRORS as e:
            raise BusError(f"stream {stream}: cannot publish: {e}") from e
        return _acks(futures, stream, timeout)

    async def request(
        self,
        subject: str,
        data: bytes,
        *,
        timeout: float,
        headers: Mapping[str, str] | None = None,
        responder: str = "service",
    ) -> Message:
        try:
            msg = await self.nc.request(
                subject, data, timeout=timeout, headers=dict(headers) if headers else None
            )
        except nats.errors.NoRespondersError:
            raise ServiceUnavailable(f"no {responder} is running") from None
        except nats.errors.TimeoutError:
            raise ServiceUnavailable(f"the {responder} did not answer in time") from None
        return self._message(msg)

    async def gather(self, subject: str, data: bytes, expected: int, timeout: float) -> list[bytes]:
        """Ask every responder on `subject` (no queue group): the answers that came within
        `timeout`, returning as soon as `expected` did."""
        inbox = self.nc.new_inbox()
        got: list[bytes] = []
        enough = asyncio.Event()

        async def on_reply(msg: Msg) -> None:
            got.append(msg.data)
            if len(got) >= expected:
                enough.set()

        sub = await self.nc.subscribe(inbox, cb=on_reply)
        try:
            await self.nc.publish(subject, data, reply=inbox)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(enough.wait(), timeout)
        except NATS_ERRORS as e:
            raise BusError(f"asking {subject}: {e}") from e
        finally:
            with contextlib.suppress(*NATS_ERRORS):
                await sub.unsubscribe()
        return list(got)

    async def subscribe(self, subject: str, handler: Handler, *, queue: str = "") -> Subscription:
        async def cb(msg: Msg) -> None:
            await handler(self._message(msg))

        sub: Subscription = await self.nc.subscribe(subject, queue=queue, cb=cb)
        return sub

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
        puller = await _JsPuller.open(self.nc, stream, durable)
        try:
            while not stop.is_set():
                deliveries = await puller.fetch(batch, wait=wait)
                if not deliveries:
                    continue
                try:
                    await handle(deliveries)
                except BaseException:
                    try:
                        for d in deliveries:
                            if not d.settled:
                                await d.nak()
                    except NATS_ERRORS:  # the connection is gone: they come back after ack_wait
                        pass
                    raise
                for d in deliveries:
                    if not d.settled:
                        await d.ack()
        finally:
            await puller.close()

    async def fresh_consumer(
        self, stream: str, durable: str, subject: str, *, ack_wait: float, max_pending: int
    ) -> Puller:
        await self.delete_consumer(stream, durable)
        return await self._bind(
            stream, durable, pull_config(durable, subject, ack_wait, max_pending)
        )

    async def _bind(self, stream: str, durable: str, config: ConsumerConfig) -> Puller:
        try:
            await self.js.add_consumer(stream, config)
            return await _JsPuller.open(self.nc, stream, durable)
        except NATS_ERRORS as e:
            raise BusError(f"cannot create consumer {durable} of {stream}: {e}") from e

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
        try:
            info = await self.js.consumer_info(stream, durable)
            floor = info.ack_floor.stream_seq if info.ack_floor else 0
            start = (floor or 0) + 1
        except NotFoundError:
            start = 0
        except NATS_ERRORS as e:
            raise BusError(f"cannot read consumer {durable} of {stream}: {e}") from e
        await self.delete_consumer(stream, durable)
        config = pull_config(durable, subject, ack_wait, max_pending)
        if ack_all:
            config.ack_policy = AckPolicy.ALL
        if start:
            config.deliver_policy = DeliverPolicy.BY_START_SEQUENCE
            config.opt_start_seq = start
        else:
            config.deliver_policy = DeliverPolicy.NEW
        return await self._bind(stream, durable, config)

    async def first_sequence(self, stream: str) -> int:
        """The sequence of the oldest message `stream` still holds (what its limits removed
        came before)."""
        try:
            info = await self.js.stream_info(stream)
        except NATS_ERRORS as e:
            raise BusError(f"cannot read stream {stream}: {e}") from e
        return int(info.state.first_seq)

    async def delete_consumer(self, stream: str, durable: str) -> None:
        try:
            await self.js.delete_consumer(stream, durable)
        except NotFoundError:
            pass
        except NATS_ERRORS as e:
            raise BusError(f"cannot delete consumer {durable} of {stream}: {e}") from e

    async def flush(self) -> None:
        await self.nc.flush()

    async def close(self, *tasks: asyncio.Task[Any]) -> None:
        await shutdown(self.nc, *tasks)


async def open_bus(
    url: str, name: str, replicas: int = 1, alerts_keep: int = DEFAULT_ALERTS_KEEP
) -> NatsBus:
    """Connect a service to NATS (`url`: one server, or several comma separated), declaring
    the shared topology first."""
    return NatsBus(*await setup(url, name, replicas, alerts_keep))
