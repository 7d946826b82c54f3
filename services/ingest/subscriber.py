"""Keeping InfluxDB's subscriptions (kapacitor.influx.subscriptions): one ingest process of
the deployment, the holder of the subscriber lease, syncs every `[[influxdb]]` at start and
every `subscriptions-sync-interval`, and for udp subscriptions holds their UDP listeners. Another
ingest takes the lease over when it goes; its sync then re-points the subscriptions to itself.

A cluster with `enabled = false` or `disable-subscriptions = true` is synced until its
subscriptions of ours are gone (that is how they are removed), then left alone; one with
`unsubscribe-on-stop` has them removed when the ingest keeping them stops cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import msgspec
from nats.js.errors import KeyNotFoundError

from kapacitor.auth import new_token, secret_hash, split_token
from kapacitor.auth.model import TokenRecord
from kapacitor.bus import subjects
from kapacitor.bus.client import NatsBus
from kapacitor.bus.cluster_store import cluster_id
from kapacitor.bus.input_store import InputStore, SubscriptionStatus, UdpStats
from kapacitor.clock import Clock
from kapacitor.cluster.member import Member, OwnershipChange
from kapacitor.cluster.presence import join
from kapacitor.config import Config, InfluxDBConfig
from kapacitor.errors import KapacitorError
from kapacitor.influx.cluster import InfluxCluster
from kapacitor.influx.subscriptions import Subscription, existing, subscription_name, sync
from kapacitor.tasks import cancel_and_wait, cancel_soon
from services.ingest.udp import Store, UdpListener, split_bind

log = logging.getLogger("kapacitor.subscriptions")

SUBSCRIPTION_TOKEN_KEY = "subscription-token"  # in CLUSTER_BUCKET
STATUS_INTERVAL_S = 2.0  # how often the status and the udp listeners' counters are published
RETRY_S = 5.0  # the wait after a failed sync, when the sync interval is longer


def callback_port(cfg: Config, cluster: InfluxDBConfig) -> int:
    if cluster.http_port:
        return cluster.http_port
    return split_bind(cfg.http.bind_address)[1]


class ClusterSubscriptions:
    """One [[influxdb]]'s subscriptions and the udp listeners that serve them."""

    def __init__(
        self,
        cfg: Config,
        cluster: InfluxDBConfig,
        name: str,
        store: Store,
        clock: Clock,
        credentials: Callable[[], Awaitable[str]] | None = None,
    ) -> None:
        self.cfg = cfg
        self.cluster = cluster
        self.name = name
        self.store = store
        self.clock = clock
        self.credentials = credentials  # the userinfo of an http(s) destination, with auth on
        self.userinfo = ""
        self.host = cluster.kapacitor_hostname or cfg.hostname
        self.listeners: dict[tuple[str, str], UdpListener] = {}
        self.status = SubscriptionStatus(
            cluster.name, name, host=cfg.hostname, protocol=cluster.subscription_protocol
        )
        self.wanted = cluster.enabled and not cluster.disable_subscriptions

    def destination(self, db: str, rp: str) -> str | None:
        protocol = self.cluster.subscription_protocol
        if protocol != "udp":
            where = f"{self.host}:{callback_port(self.cfg, self.cluster)}"
            return f"{protocol}://{self.userinfo}{where}"
        listener = self.listeners.get((db, rp))
        return None if listener is None else f"udp://{self.host}:{listener.port}"

    async def _listen(self, db: str, rp: str, port: int) -> UdpListener:
        c = self.cluster
        listener = UdpListener(
            UdpStats("", self.cfg.hostname, db, rp, cluster=c.name),
            precision="ns",
            buffer=c.udp_buffer,
            read_buffer=c.udp_read_buffer,
            store=self.store,
            clock=self.clock,
        )
        await listener.open(c.udp_bind or "0.0.0.0", port)
        self.listeners[(db, rp)] = listener
        return listener

    async def _reopen(self, subs: list[Subscription]) -> None:
        """Listen again on the ports our udp subscriptions name (after a restart); one whose
        port is taken is re-created with another by the sync."""
        for sub in subs:
            if sub.name != self.name or (sub.db, sub.rp) in self.listeners:
                continue
            if len(sub.destinations) != 1 or not self.cluster.subscribed(sub.db, sub.rp):
                continue
            scheme, _, address = sub.destinations[0].partition("://")
            host, _, port = address.rpartition(":")
            if scheme == "udp" and host == self.host and port.isdigit():
                try:
                    await self._listen(sub.db, sub.rp, int(port))
                except OSError as e:
                    log.warning("udp port %s of %s is not free (%s): re-creating it", port, sub, e)

    async def _new_destination(self, db: str, rp: str) -> str:
        listener = await self._listen(db, rp, 0)
        return f"udp://{self.host}:{listener.port}"

    async def sync_once(self) -> bool:
        """One sync; whether it completed (failures are counted and logged, not raised)."""
        s = self.status
        try:
            if self.credentials is not None and self.wanted:
                self.userinfo = await self.credentials()
            async with InfluxCluster(self.cluster) as influx:
                udp = self.cluster.subscription_protocol == "udp" and self.wanted
                done = await sync(
                    influx,
                    self.name,
                    self.destination,
                    before_plan=self._reopen if udp else None,
                    new_destination=self._new_destination if udp else None,
                )
        except (KapacitorError, OSError) as e:
            s.failures += 1
            if s.last_error != str(e):
                log.error("influxdb %s: subscription sync failed: %s", self.cluster.name, e)
            s.last_error = str(e)
            return False
        kept = {(sub.db, sub.rp) for sub in done.keep} | set(done.create)
        for where in set(self.listeners) - kept:
            await self.listeners.pop(where).close()
        s.syncs += 1
        s.created += len(done.create)
        s.dropped += len(done.drop)
        s.subscribed = sorted(f"{db}.{rp}" for db, rp in kept)
        s.last_sync_ns = self.clock.now_ns()
        s.last_error = ""
        s.doubles = [str(d) for d in done.doubles]
        for sub in done.drop:
            log.info("influxdb %s: dropped subscription %s", self.cluster.name, sub)
        for db, rp in done.create:
            log.info(
                "influxdb %s: subscribed to %s.%s -> %s",
                self.cluster.name,
                db,
                rp,
                self.destination(db, rp),
            )
        for d in done.doubles:
            log.warning(
                "influxdb %s: subscription %s also sends here: every point of %s.%s arrives "
                "twice (drop it: %s)",
                self.cluster.name,
                d,
                d.db,
                d.rp,
                d.drop(),
            )
        return True

    async def unsubscribe(self) -> None:
        """Drop every subscription of ours on this InfluxDB (unsubscribe-on-stop)."""
        try:
            async with InfluxCluster(self.cluster) as influx:
                for sub in await existing(influx):
                    if sub.name == self.name:
                        await influx.query(sub.drop(), write=True)
                        log.info("influxdb %s: dropped subscription %s", self.cluster.name, sub)
        except (KapacitorError, OSError) as e:
            log.error("influxdb %s: cannot remove the subscriptions: %s", self.cluster.name, e)

    async def run(self) -> None:
        interval = self.cluster.subscriptions_sync_interval.seconds
        while True:
            ok = await self.sync_once()
            if ok and not self.wanted:
                return  # ours are gone: nothing more to do for this cluster
            await asyncio.sleep(interval if ok else min(interval, RETRY_S))

    async def close(self) -> None:
        for listener in self.listeners.values():
            await listener.close()
        self.listeners.clear()


class Subscriber:
    def __init__(
        self, cfg: Config, bus: NatsBus, clock: Clock, store: Store, inputs: InputStore
    ) -> None:
        self.cfg = cfg
        self.bus = bus
        self.clock = clock
        self.store = store
        self.inputs = inputs
        self.member: Member | None = None
        self.clusters: list[ClusterSubscriptions] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        if not self.cfg.influxdb:
            return
        self.member = await join(
            self.bus.js,
            self.cfg,
            subjects.SUBSCRIBER,
            self.clock,
            partitions=1,
            on_change=self._changed,
            before_release=self._wind_up,
        )

    def _changed(self, change: OwnershipChange) -> None:
        if change.gained and not self._tasks:
            log.info("keeping the InfluxDB subscriptions")
            self._tasks = [asyncio.create_task(self._run())]
        if change.lost and self._tasks:
            for task in self._tasks:
                cancel_soon(task)
            self._tasks = []

    async def _run(self) -> None:
        while True:
            try:
                name = subscription_name(await cluster_id(self.bus.js))
                break
            except KapacitorError as e:  # the bus failing: the id is needed to name them
                log.warning("cannot read the cluster id (%s); trying again", e)
                await asyncio.sleep(RETRY_S)
        self.clusters = [
            ClusterSubscriptions(
                self.cfg,
                c,
                name,
                self.store,
                self.clock,
                self.subscription_token if self.cfg.http.auth_enabled else None,
            )
            for c in self.cfg.influxdb
        ]
        try:
            async with asyncio.TaskGroup() as group:
                for c in self.clusters:
                    group.create_task(c.run())
                group.create_task(self._publish())
        finally:
            for c in self.clusters:
                await c.close()

    async def subscription_token(self) -> str:
        """`kapacitor:<token>@`: the credentials InfluxDB's subscription writes carry when auth
        is on, as Kapacitor's subscription tokens: a write token made once and kept (its secret
        in the cluster bucket, so that destinations stay the same across restarts), made anew
        when it was revoked."""
        js = self.bus.js
        kept = await js.key_value(subjects.CLUSTER_BUCKET)
        auth = await js.key_value(subjects.AUTH_BUCKET)
        text = ""
        with contextlib.suppress(KeyNotFoundError):
            entry = await kept.get(SUBSCRIPTION_TOKEN_KEY)
            text = (entry.value or b"").decode()
        parts = split_token(text)
        alive = False
        if parts is not None:
            with contextlib.suppress(KeyNotFoundError):
                alive = bool((await auth.get(f"token.{parts[0]}")).value)
        if not alive:
            token_id, secret, text = new_token()
            record = TokenRecord(
                id=token_id,
                role="write",
                secret_hash=secret_hash(secret),
                user="kapacitord",
                description="InfluxDB subscriptions",
                created=self.clock.now_ns(),
            )
            await auth.put(f"token.{token_id}", msgspec.json.encode(record))
            await kept.put(SUBSCRIPTION_TOKEN_KEY, text.encode())
            log.info("made the write token of InfluxDB's subscriptions (%s)", token_id)
        return f"kapacitor:{text}@"

    async def _publish(self) -> None:
        member = self.member.id if self.member is not None else ""
        while True:
            try:
                for c in self.clusters:
                    await self.inputs.put_subscriptions(c.status)
                    for listener in c.listeners.values():
                        await self.inputs.put_udp(member, listener.stats)
            except KapacitorError as e:
                log.warning("cannot publish the subscriptions' status: %s", e)
            await asyncio.sleep(STATUS_INTERVAL_S)

    async def _wind_up(self, _: int) -> None:
        tasks, self._tasks = self._tasks, []
        await cancel_and_wait(*tasks)

    async def stop(self) -> None:
        holding = self.member is not None and bool(self.member.owned())
        await self._wind_up(0)
        if holding:
            for c in self.clusters:
                if c.cluster.unsubscribe_on_stop:
                    await c.unsubscribe()
        if self.member is not None:
            await self.member.leave()
