"""InfluxDB subscriptions as Kapacitor keeps them: InfluxDB sends a copy of every write to a
database/retention policy to the destinations of its subscriptions; kapacitord keeps one
subscription, named `kapacitor-<cluster id>`, on every db/rp its `[[influxdb]]` section wants.

A sync reads the databases, their retention policies and the subscriptions, then (`plan`):
- drops each of ours whose db/rp is no longer wanted or whose destination is not the one it
  should have (the host, port or protocol changed);
- creates ours on every wanted db/rp that has none (those created since the last sync too);
- never touches a subscription of another name. One of another name (a Kapacitor 1.x's, say)
  that sends to our destination is reported: with it, InfluxDB sends every point twice.

The reading and planning take values and return values; `sync` does the I/O.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kapacitor.config import InfluxDBConfig
from kapacitor.influx.cluster import InfluxCluster
from kapacitor.influx.influxql import quote_ident

__all__ = [
    "SUBSCRIPTION_PREFIX",
    "Subscription",
    "SyncPlan",
    "plan",
    "subscription_name",
    "sync",
]

SUBSCRIPTION_PREFIX = "kapacitor-"
# A destination for a db/rp, or None when it has none yet (a udp listener still to open).
Destination = Callable[[str, str], str | None]


def subscription_name(cluster_id: str) -> str:
    return SUBSCRIPTION_PREFIX + cluster_id


def _string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True, slots=True)
class Subscription:
    db: str
    rp: str
    name: str
    destinations: tuple[str, ...]
    mode: str = "ANY"

    def create(self) -> str:
        dests = ", ".join(_string(d) for d in self.destinations)
        return (
            f"CREATE SUBSCRIPTION {quote_ident(self.name)} ON "
            f"{quote_ident(self.db)}.{quote_ident(self.rp)} DESTINATIONS {self.mode} {dests}"
        )

    def drop(self) -> str:
        return (
            f"DROP SUBSCRIPTION {quote_ident(self.name)} ON "
            f"{quote_ident(self.db)}.{quote_ident(self.rp)}"
        )

    def __str__(self) -> str:
        return f"{self.name} on {self.db}.{self.rp} -> {', '.join(self.destinations)}"


@dataclass(frozen=True, slots=True)
class SyncPlan:
    drop: tuple[Subscription, ...]
    create: tuple[tuple[str, str], ...]  # (db, rp) to subscribe to
    keep: tuple[Subscription, ...]
    doubles: tuple[Subscription, ...] = field(default=())  # others sending to our destination


def _rows(doc: Mapping[str, Any]) -> Iterable[tuple[str, dict[str, Any]]]:
    """(series name, row as a dict) of every row of every series of an answer."""
    for result in doc.get("results") or []:
        for series in result.get("series") or []:
            columns = list(series.get("columns") or [])
            for values in series.get("values") or []:
                yield str(series.get("name", "")), dict(zip(columns, values, strict=False))


def databases_of(doc: Mapping[str, Any]) -> list[str]:
    """The databases in the answer to SHOW DATABASES."""
    return [str(row["name"]) for _, row in _rows(doc) if "name" in row]


def retention_policies_of(doc: Mapping[str, Any]) -> list[str]:
    """The retention policies in the answer to SHOW RETENTION POLICIES ON db."""
    return [str(row["name"]) for _, row in _rows(doc) if "name" in row]


def subscriptions_of(doc: Mapping[str, Any]) -> list[Subscription]:
    """Every subscription in the answer to SHOW SUBSCRIPTIONS (one series per database)."""
    return [
        Subscription(
            db,
            str(row.get("retention_policy", "")),
            str(row.get("name", "")),
            tuple(str(d) for d in row.get("destinations") or ()),
            str(row.get("mode", "ANY")),
        )
        for db, row in _rows(doc)
    ]


def wanted(cluster: InfluxDBConfig, dbrps: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The db/rp among `dbrps` that `cluster` should have our subscription on."""
    if not cluster.enabled or cluster.disable_subscriptions:
        return []
    return [(db, rp) for db, rp in dbrps if cluster.subscribed(db, rp)]


def plan(
    name: str,
    want: Iterable[tuple[str, str]],
    existing: Iterable[Subscription],
    destination: Destination,
) -> SyncPlan:
    """What a sync does: see the module doc. `destination(db, rp)` is the one our subscription
    on db/rp must have."""
    want_set = set(want)
    drop, keep, doubles = [], [], []
    kept: set[tuple[str, str]] = set()
    for sub in existing:
        dest = destination(sub.db, sub.rp)
        if sub.name != name:
            if dest is not None and dest in sub.destinations:
                doubles.append(sub)
            continue
        where = (sub.db, sub.rp)
        if (
            where in want_set
            and where not in kept
            and dest is not None
            and sub.destinations == (dest,)
        ):
            keep.append(sub)
            kept.add(where)
        else:
            drop.append(sub)
    create = tuple(sorted(want_set - kept))
    return SyncPlan(tuple(drop), create, tuple(keep), tuple(doubles))


async def dbrps(influx: InfluxCluster) -> list[tuple[str, str]]:
    """Every (database, retention policy) of the InfluxDB."""
    out: list[tuple[str, str]] = []
    for db in databases_of(await influx.query("SHOW DATABASES")):
        rps = await influx.query(f"SHOW RETENTION POLICIES ON {quote_ident(db)}")
        out.extend((db, rp) for rp in retention_policies_of(rps))
    return out


async def existing(influx: InfluxCluster) -> list[Subscription]:
    return subscriptions_of(await influx.query("SHOW SUBSCRIPTIONS"))


async def sync(
    influx: InfluxCluster,
    name: str,
    destination: Destination,
    *,
    before_plan: Callable[[list[Subscription]], Awaitable[None]] | None = None,
    new_destination: Callable[[str, str], Awaitable[str]] | None = None,
) -> SyncPlan:
    """Bring the InfluxDB's subscriptions named `name` in line with its config (module doc).

    `before_plan` sees the subscriptions first (the udp side opens listeners on the ports ours
    name); a subscription is created with `destination`, or else `new_destination` (which
    opens a listener for it)."""
    subs = await existing(influx)
    if before_plan is not None:
        await before_plan(subs)
    todo = plan(name, wanted(influx.cfg, await dbrps(influx)), subs, destination)
    for sub in todo.drop:
        await influx.query(sub.drop(), write=True)
    for db, rp in todo.create:
        dest = destination(db, rp)
        if dest is None:
            if new_destination is None:
                continue
            dest = await new_destination(db, rp)
        await influx.query(Subscription(db, rp, name, (dest,)).create(), write=True)
    return todo
