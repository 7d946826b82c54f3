"""The Prometheus view of the cluster: each plugin's counters (summed over the partitions) and
each service instance's partitions, lag and heartbeat age, built from values at scrape time."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

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
PLUGIN_GAUGES = {
    "instances": ("kapacitor_plugin_instances", "Instances held in memory."),
    "state_bytes": ("kapacitor_plugin_state_bytes", "About the memory their state takes."),
    "revision": ("kapacitor_plugin_running_revision", "Oldest definition revision running."),
}


class MetricsCollector(Collector):
    def __init__(self, stats: Mapping[str, PluginStats], cluster: Mapping[str, Any]) -> None:
        self.stats = stats
        self.cluster = cluster

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
