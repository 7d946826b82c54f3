"""The Prometheus view of the cluster: each plugin's counters (summed over the partitions),
each service instance's partitions, lag and heartbeat age, and the inputs' counters (UDP
listeners, InfluxDB subscriptions), built from values at scrape time."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from kapacitor.bus.input_store import SubscriptionStatus, UdpStats
from kapacitor.plugins import PluginStats

# PluginStats field -> (metric name, help); counters first, then gauges.
PLUGIN_COUNTERS = {
    "points_processed": ("kapacitor_plugin_points_processed", "Points run through the plugin."),
    "points_skipped": ("kapacitor_plugin_points_skipped", "Points lacking a field it reads."),
    "points_refused": ("kapacitor_plugin_points_refused", "Points of instances over the limit."),
    "alerts_fired": ("kapacitor_plugin_alerts_fired", "Alert events other than OK."),
    "errors": ("kapacitor_plugin_errors", "Batches the plugin failed on."),
    "template_errors": (
        "kapacitor_plugin_template_errors",
        "Alert messages that were no template (sent as written).",
    ),
    "instances_expired": ("kapacitor_plugin_instances_expired", "Instances forgotten idle."),
}
UDP_COUNTERS = {
    "received": ("kapacitor_udp_datagrams_received", "Datagrams a UDP listener received."),
    "dropped": ("kapacitor_udp_datagrams_dropped", "Datagrams dropped, its buffer full."),
    "lost": ("kapacitor_udp_datagrams_lost", "Datagrams parsed but not stored."),
    "points": ("kapacitor_udp_points", "Points it stored."),
    "bad_lines": ("kapacitor_udp_bad_lines", "Lines it could not parse."),
}
SUBSCRIPTION_COUNTERS = {
    "syncs": ("kapacitor_subscription_syncs", "Subscription syncs completed."),
    "failures": ("kapacitor_subscription_sync_failures", "Subscription syncs that failed."),
}
PLUGIN_GAUGES = {
    "instances": ("kapacitor_plugin_instances", "Instances held in memory."),
    "state_bytes": ("kapacitor_plugin_state_bytes", "About the memory their state takes."),
    "revision": ("kapacitor_plugin_running_revision", "Oldest definition revision running."),
}


class MetricsCollector(Collector):
    def __init__(
        self,
        stats: Mapping[str, PluginStats],
        cluster: Mapping[str, Any],
        inputs: tuple[list[UdpStats], list[SubscriptionStatus]] = ([], []),
    ) -> None:
        self.stats = stats
        self.cluster = cluster
        self.udp, self.subscriptions = inputs

    def collect(self) -> Iterator[Metric]:
        for field, (name, doc) in PLUGIN_COUNTERS.items():
            counter = CounterMetricFamily(name, doc, labels=["plugin"])
            for plugin, s in sorted(self.stats.items()):
                counter.add_metric([plugin], float(getattr(s, field)))
            yield counter
        for field, (name, doc) in PLUGIN_GAUGES.items():
            gauge = GaugeMetricFamily(name, doc, labels=["plugin"])
            for plugin, s in sorted(self.stats.items()):
                gauge.add_metric([plugin], float(getattr(s, field)))
            yield gauge
        labels = ["service", "instance", "host"]
        up = GaugeMetricFamily("kapacitor_member_up", "1 if heartbeating in time.", labels=labels)
        owned = GaugeMetricFamily("kapacitor_member_partitions", "Partitions owned.", labels=labels)
        lag = GaugeMetricFamily(
            "kapacitor_member_lag_messages", "Messages waiting for it.", labels=labels
        )
        beat = GaugeMetricFamily(
            "kapacitor_member_heartbeat_age_seconds", "Since its last heartbeat.", labels=labels
        )
        for m in self.cluster["members"]:
            key = [m["service"], m["id"], m["host"]]
            up.add_metric(key, 1.0 if m["state"] == "ok" else 0.0)
            owned.add_metric(key, float(len(m["partitions"])))
            if m["lag"] is not None:
                lag.add_metric(key, float(m["lag"]))
            if m["last_heartbeat_s"] is not None:
                beat.add_metric(key, float(m["last_heartbeat_s"]))
        yield from (up, owned, lag, beat)
        unowned = GaugeMetricFamily(
            "kapacitor_unowned_partitions", "Partitions no interpreter owns."
        )
        unowned.add_metric([], float(len(self.cluster["unowned_partitions"])))
        yield unowned
        yield from self._inputs()

    def _inputs(self) -> Iterator[Metric]:
        for field, (name, doc) in UDP_COUNTERS.items():
            counter = CounterMetricFamily(name, doc, labels=["listener", "host", "cluster"])
            for u in self.udp:
                counter.add_metric([u.listener, u.host, u.cluster], float(getattr(u, field)))
            yield counter
        for field, (name, doc) in SUBSCRIPTION_COUNTERS.items():
            counter = CounterMetricFamily(name, doc, labels=["cluster"])
            for s in self.subscriptions:
                counter.add_metric([s.cluster], float(getattr(s, field)))
            yield counter
        subscribed = GaugeMetricFamily(
            "kapacitor_subscriptions", "Database/retention policies subscribed.", labels=["cluster"]
        )
        for s in self.subscriptions:
            subscribed.add_metric([s.cluster], float(len(s.subscribed)))
        yield subscribed
