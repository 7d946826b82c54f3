"""Several real kapacitords on one NATS server, as a scaled-out deployment runs: one front
(api, ingest, matcher, replay) and any number of interpreter-only daemons, each its own
process tree with its own data dir (and alert log)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kapacitor.bus.client import connect
from kapacitor.bus.cluster_store import ClusterStore
from kapacitor.testing.daemon import Daemon
from kapacitor.testing.procs import children, service_of
from kapacitor.testing.waits import NotYet, wait_until

__all__ = ["Cluster"]

FRONT_SERVICES = "api,ingest,matcher,replay"
# Short leases, so that a killed interpreter's partitions move within a test's patience.
CLUSTER_ENV = {
    "KAPACITOR_CLUSTER_LEASE_TTL": "2s",
    "KAPACITOR_CLUSTER_HEARTBEAT": "500ms",
}


@dataclass
class Cluster:
    root: Path
    nats_url: str
    env: dict[str, str] = field(default_factory=dict)
    front: Daemon = field(init=False)
    interpreters: list[Daemon] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.front = Daemon(self.root / "front", services=FRONT_SERVICES, env=self._env())

    def _env(self) -> dict[str, str]:
        return {"KAPACITOR_NATS_URL": self.nats_url, **CLUSTER_ENV, **self.env}

    def start(self, interpreters: int) -> Cluster:
        self.front.start()
        for _ in range(interpreters):
            self.add_interpreter()
        return self

    def add_interpreter(self) -> Daemon:
        d = Daemon(
            self.root / f"interpreter{len(self.interpreters)}",
            services="interpreter",
            env=self._env(),
        )
        self.interpreters.append(d)
        d.start(wait_for=())
        d.wait_log("interpreter ready")
        return d

    def stop(self) -> None:
        for d in [*self.interpreters, self.front]:
            d.stop()

    def interpreter_pid(self, d: Daemon) -> int:
        """The interpreter service process of daemon `d`."""
        assert d.proc is not None
        found = [p for p in children(d.proc.pid) if service_of(p) == "interpreter"]
        assert found, f"no interpreter process under {d.proc.pid}"
        return found[0]

    def kill9(self, d: Daemon) -> None:
        """kill -9 the daemon `d` and every process of it, as a host that is gone."""
        assert d.proc is not None
        for pid in [d.proc.pid, *children(d.proc.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        d.proc.wait()
        d.proc = None

    def lease_owners(self, service: str = "interpreter") -> dict[int, str]:
        """partition -> the member holding its lease now."""
        return asyncio.run(_lease_owners(self.nats_url, service))

    def notifier(self) -> Daemon:
        """The interpreter daemon whose process holds the notifier lease."""
        holder = wait_until(lambda: self.lease_owners("notifier").get(0, ""), 30, "a notifier")
        pid = int(holder.split(":")[-2])
        found = [d for d in self.interpreters if d.proc and self.interpreter_pid(d) == pid]
        assert found, f"no daemon runs the notifier {holder}"
        return found[0]

    def wait_balanced(self, partitions: int = 32, timeout: float = 60.0) -> dict[str, int]:
        """Wait until every partition is held and the live interpreters share them evenly;
        member -> partitions held."""
        n = sum(1 for d in self.interpreters if d.proc is not None)

        def balanced() -> dict[str, int] | NotYet:
            owners = self.lease_owners()
            counts = Counter(owners.values())
            if len(owners) == partitions and len(counts) == n:
                if max(counts.values()) - min(counts.values()) <= 1:
                    return dict(counts)
            return NotYet(dict(counts))

        found = wait_until(balanced, timeout, f"{partitions} partitions shared by {n}")
        assert isinstance(found, dict)
        return found

    def alert_events(self) -> list[dict[str, Any]]:
        """Every alert event logged by any interpreter, in no particular order."""
        return [e for d in self.interpreters for e in d.alerts_log()]


async def _lease_owners(url: str, service: str) -> dict[int, str]:
    nc = await connect(url, "kapacitor-test-cluster")
    try:
        return await (await ClusterStore.open(nc.jetstream())).lease_holders(service)
    finally:
        await nc.close()
