"""Every NATS subject, stream, consumer and KV bucket name of the system, in one place.

telegraf (nats-input.subject)      core: line protocol from Telegraf's outputs.nats -> ingest
kapacitor.points.in               stream POINTS: parsed point batches, API (/write) and
                                  ingest (NATS input) -> matcher
kapacitor.matched.<p>.<plugin>    stream MATCHED: a plugin's matched batches of partition p,
                                  matcher -> interpreter (kapacitor.plugin.<plugin> before
                                  partitions: an older stream's subjects are updated)
kapacitor.alerts.<plugin>[.<topic>] stream ALERTS: alert events, interpreter -> notifier,
                                  topic handlers, API (recent alerts)
kapacitor.control.<what>          core: control requests (stats, ping) between services
$JS.API.CONSUMER.MSG.NEXT.<s>.<c> JetStream's pull requests for consumer c of stream s
KV kapacitor_plugins              plugin definitions, watched by matcher and interpreter
KV kapacitor_stats                per-plugin counters published by interpreters
KV kapacitor_topic_handlers       topic handler definitions, watched by the notifier
KV kapacitor_handler_stats        topic handler counters, published by the notifier
KV kapacitor_topics               each topic's alerts: their last event, kept by the notifier
"""

from __future__ import annotations

import re

POINTS_STREAM = "KAPACITOR_POINTS"
POINTS_IN = "kapacitor.points.in"
MATCHER_CONSUMER = "matcher"

MATCHED_STREAM = "KAPACITOR_MATCHED"
MATCHED_ALL = "kapacitor.matched.>"
# What MATCHED captured before partitions; messages an upgrade finds there are still consumed.
MATCHED_LEGACY_ALL = "kapacitor.plugin.>"
# The one consumer of MATCHED before partitions: deleted, as its filter overlaps theirs.
INTERPRETER_CONSUMER = "interpreter"
# The matcher's consumer of messages an upgrade finds under MATCHED_LEGACY_ALL.
LEGACY_CONSUMER = "legacy-split"

ALERTS_STREAM = "KAPACITOR_ALERTS"
ALERTS_ALL = "kapacitor.alerts.>"
# The topic of a handler that reads every event, whatever its topic (and with none): a
# plugin's webhook (`define --webhook`) and the server's (`[alert] webhook-url`).
EVERY_TOPIC = "*"
# The one consumer that delivers alert events to the handlers, read by the member holding the
# notifier lease (service NOTIFIER, partition 0).
NOTIFIER_CONSUMER = "notifier"
NOTIFIER = "notifier"
# The consumer of the events of every topic that keeps TOPICS_BUCKET, read by the same member.
TOPICS_CONSUMER = "topics"
TOPIC_ALERTS_ALL = "kapacitor.alerts.*.*"

PLUGINS_BUCKET = "kapacitor_plugins"
STATS_BUCKET = "kapacitor_stats"
TOPIC_HANDLERS_BUCKET = "kapacitor_topic_handlers"  # <topic>.<id>: a handler's definition
HANDLER_STATS_BUCKET = "kapacitor_handler_stats"  # <topic>.<id>: its counters (sent, ...)
TOPICS_BUCKET = "kapacitor_topics"  # <topic>.<event id>: the last event of each alert
SILENCES_BUCKET = "kapacitor_silences"  # <id>: a silence (kapacitor.alerting.silences)
# <plugin>.<partition>: the inhibitors raised there (kapacitor.alerting.inhibit)
INHIBITORS_BUCKET = "kapacitor_inhibitors"
# Every interpreter answers with the alerts of its partitions that are not OK.
ALERTS_QUERY = "kapacitor.query.alerts"
HTTP_OUT_QUERY = "kapacitor.query.http_out"  # an http_out() endpoint's latest values
STATE_BUCKET = "kapacitor_state"  # an object store: runtime snapshots can outgrow a KV value
POINTERS_BUCKET = "kapacitor_partitions"  # partition.<service>.<p>: its current saved state

NATS_INPUT_QUEUE = "kapacitor-ingest"

RECORDINGS_STREAM = "KAPACITOR_RECORDINGS"
RECORDINGS_ALL = "kapacitor.recording.>"
RECORDINGS_BUCKET = "kapacitor_recordings"
REPLAY_QUEUE = "replay"
REPLAY_STOP_ALL = "kapacitor.replay.stop.*"

H_REPORT_PART = "Kapacitor-Report-Part"  # on replay progress messages that carry the report
H_MSG_ID = "Nats-Msg-Id"  # JetStream drops a message whose id it stored within its window
H_EVENT_IDS = "Kapacitor-Event-Ids"  # on ALERTS messages: the id of each event, in order

JS_API = "$JS.API"  # JetStream's API prefix (no domain)

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def token(name: str) -> str:
    """A name made safe as one subject token or KV key ('.', '*', '>' and spaces are escaped)."""
    return _UNSAFE.sub(lambda m: "=" + format(ord(m.group()), "x") + "=", name)


def untoken(tok: str) -> str:
    return re.sub(r"=([0-9a-f]+)=", lambda m: chr(int(m.group(1), 16)), tok)


def consumer_next(stream: str, durable: str) -> str:
    """Where a pull request for the messages of a durable consumer goes."""
    return f"{JS_API}.CONSUMER.MSG.NEXT.{stream}.{durable}"


def matched_points(partition: int, plugin: str) -> str:
    return f"kapacitor.matched.{partition}.{token(plugin)}"


def matched_partition(partition: int) -> str:
    """Every plugin's matched batches of `partition`."""
    return f"kapacitor.matched.{partition}.>"


def partition_consumer(partition: int) -> str:
    """The durable consumer of one partition of MATCHED, re-created by each new owner."""
    return f"interpreter-p{partition}"


def partition_from_subject(subject: str) -> int:
    """The partition of a `matched_points` subject."""
    return int(subject.split(".", 3)[2])


def matched_msg_id(first_seq: int, last_seq: int, partition: int, plugin: str) -> str:
    """The id of the message of `partition` and `plugin` split from the POINTS messages
    `first_seq`..`last_seq` (all of them, joined): the same input split again after a
    redelivery gets the same id, so the MATCHED stream stores it once."""
    return f"{first_seq}-{last_seq}.{partition}.{token(plugin)}"


def plugin_alerts(plugin: str, topic: str = "") -> str:
    """Where a plugin's alert events of `topic` are stored ("": of alerts with no topic=)."""
    base = f"kapacitor.alerts.{token(plugin)}"
    return f"{base}.{token(topic)}" if topic else base


def topic_alerts(topic: str) -> str:
    """Every plugin's alert events of `topic`: what a topic handler's consumer reads."""
    return f"kapacitor.alerts.*.{token(topic)}"


def alert_source(subject: str) -> tuple[str, str]:
    """The plugin and topic ("" for none) of a `plugin_alerts` subject."""
    parts = subject.split(".")
    return untoken(parts[2]), untoken(parts[3]) if len(parts) > 3 else ""


def handler_events(topic: str, plugin: str = "") -> tuple[str, ...]:
    """What a topic handler reads: every plugin's events of `topic`, or only `plugin`'s (a
    handler that plugin's script attaches); of EVERY_TOPIC, all the events (of `plugin`)."""
    if topic == EVERY_TOPIC:
        if not plugin:
            return (ALERTS_ALL,)
        return (plugin_alerts(plugin), plugin_alerts(plugin) + ".>")
    return (plugin_alerts(plugin, topic) if plugin else topic_alerts(topic),)


def handler_consumer(topic: str, handler: str) -> str:
    """The durable consumer of ALERTS that feeds one topic handler."""
    return f"handler-{token(topic)}-{token(handler)}"


def inhibitors_key(plugin: str, partition: int) -> str:
    """A plugin's partition's key in INHIBITORS_BUCKET."""
    return f"{token(plugin)}.{partition}"


def handler_key(topic: str, handler: str) -> str:
    """A topic handler's key in TOPIC_HANDLERS_BUCKET (and of its counters in STATS)."""
    return f"{token(topic)}.{token(handler)}"


def topic_handlers_of(topic: str) -> str:
    return f"{token(topic)}.*"


def handler_from_key(key: str) -> tuple[str, str]:
    topic, handler = key.split(".", 1)
    return untoken(topic), untoken(handler)


def plugin_from_subject(subject: str) -> str:
    """The plugin of a MATCHED subject, the partitioned form or the one before partitions."""
    return untoken(subject.rsplit(".", 1)[-1])


def recording(rec_id: str) -> str:
    return f"kapacitor.recording.{token(rec_id)}"


def replay_ctl(verb: str) -> str:
    return f"kapacitor.replay.ctl.{verb}"


def replay_stop(rec_id: str) -> str:
    return f"kapacitor.replay.stop.{token(rec_id)}"


def replay_progress(replay_id: str) -> str:
    return f"kapacitor.replay.progress.{token(replay_id)}"


# Scale-out (docs/cluster.md): key-value buckets whose keys expire (per-message TTL).
MEMBERS_BUCKET = "kapacitor_members"  # member.<service>.<id>: who is alive
LEASES_BUCKET = "kapacitor_leases"  # partition.<service>.<p>: who owns a partition
# udp.<member>.<listener>, subscriptions.<cluster>: the inputs' counters, kept while fresh.
INPUTS_BUCKET = "kapacitor_inputs"
CLUSTER_BUCKET = "kapacitor_cluster"  # id: the deployment's id (names its subscriptions)
SCHEDULE_BUCKET = "kapacitor_schedule"  # <plugin>: the last tick a scheduled plugin ran
AUTH_BUCKET = "kapacitor_auth"  # user.<name>, token.<id>: who may use the HTTP API
# The member of the ingest service that keeps the InfluxDB subscriptions (its lease).
SUBSCRIBER = "subscriber"


def member_key(service: str, member_id: str) -> str:
    return f"member.{token(service)}.{token(member_id)}"


def members_of(service: str) -> str:
    return f"member.{token(service)}.>"


def partition_key(service: str, partition: int) -> str:
    return f"partition.{token(service)}.{partition}"


def partitions_of(service: str) -> str:
    return f"partition.{token(service)}.>"
