"""The cluster document and the Prometheus view of it (kapacitor/api/cluster.py, metrics.py)."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry

from kapacitor.api.cluster import cluster_document
from kapacitor.api.metrics import MetricsCollector
from kapacitor.bus.cluster_store import MemberRecord
from kapacitor.cluster.member import MemberInfo
from kapacitor.plugins import PluginStats

S = 1_000_000_000
NOW = 1_000 * S


def member(mid: str, service: str, partitions: list[int], beat_ago_s: float) -> MemberRecord:
    return MemberRecord(mid, MemberInfo("h", service, 1, partitions, NOW - int(beat_ago_s * S)))


MEMBERS = [
    member("b", "interpreter", [2, 3], 0.2),
    member("a", "interpreter", [0, 1], 4.0),  # stopped answering: its key has not expired yet
    member("b", "notifier", [0], 0.2),
    member("m", "matcher", [], 0.5),
]


def test_members_are_listed_with_their_partitions_lag_and_heartbeat() -> None:
    doc = cluster_document(MEMBERS, 6, {0: "a", 1: "a", 2: "b", 3: "b"}, {"b": 7}, NOW, 1.0)
    rows = {(m["service"], m["id"]): m for m in doc["members"]}
    assert list(rows) == [("interpreter", "a"), ("interpreter", "b"), ("matcher", "m")]
    a, b = rows["interpreter", "a"], rows["interpreter", "b"]
    assert (a["state"], a["last_heartbeat_s"], a["lag"], a["notifier"]) == (
        "late",
        4.0,
        None,
        False,
    )
    assert (b["state"], b["partitions"], b["lag"], b["notifier"]) == ("ok", [2, 3], 7, True)
    assert doc["unowned_partitions"] == [4, 5]


def test_metrics_give_plugin_counters_and_member_state() -> None:
    doc = cluster_document(MEMBERS, 4, {0: "a", 1: "a", 2: "b", 3: "b"}, {"b": 7}, NOW, 1.0)
    stats = {"cpu": PluginStats(plugin="cpu", points_processed=12, instances=3, revision=2)}
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MetricsCollector(stats, doc))
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for s in family.samples
    }
    assert samples["kapacitor_plugin_points_processed_total", (("plugin", "cpu"),)] == 12
    assert samples["kapacitor_plugin_instances", (("plugin", "cpu"),)] == 3
    late = (("host", "h"), ("instance", "a"), ("service", "interpreter"))
    assert samples["kapacitor_member_up", late] == 0
    assert samples["kapacitor_member_partitions", late] == 2
    assert samples["kapacitor_unowned_partitions", ()] == 0
