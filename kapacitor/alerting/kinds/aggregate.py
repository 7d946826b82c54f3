"""kind: aggregate — Kapacitor's aggregate handler, Alertmanager's grouping: the events a
handler receives over `interval` become one event, sent to another topic whose handlers
deliver it (a digest instead of a flood).

The aggregated event is an alert event like any other: its id the handler's `id` option
(default `<topic>/<handler id>`), its level the highest of the events, its time and duration
the latest and the longest, its message the `message` template (`{count}` and `{interval}`;
Kapacitor's "Received {count} events in the last {interval}."), its details every event's
message, one per line (the first 100). The worker that runs it
(services/interpreter/topic_handlers.py) acknowledges the events only once the aggregate is
stored: none is lost to a restart.
"""

from __future__ import annotations

from typing import Any

from kapacitor.alerting.kinds.base import Options, Sender
from kapacitor.alerting.names import name_problem
from kapacitor.alerting.templates import render
from kapacitor.config import Config, parse_duration
from kapacitor.engine.alert import LEVELS
from kapacitor.engine.events import AlertEvent

DEFAULT_MESSAGE = "Received {count} events in the last {interval}."
PLUGIN = "aggregate"  # the plugin an aggregated event names
MAX_DETAILS = 100


class AggregateOptions(
    Options, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="kebab"
):
    interval: str
    topic: str  # where the aggregated events go
    id: str = ""  # "": <topic>/<handler id>
    message: str = DEFAULT_MESSAGE

    def check(self) -> None:
        super().check()
        if parse_duration(self.interval) <= 0:
            raise ValueError(f"interval must be longer than 0, got {self.interval!r}")
        problem = name_problem(self.topic, "topic")
        if problem is not None:
            raise ValueError(problem)
        if render(self.message, {"count": "1", "interval": "1s"}) is None:
            raise ValueError(f"message {self.message!r} is not a template (write {{{{ for a {{)")

    def check_topic(self, topic: str) -> None:
        if self.topic == topic:
            raise ValueError(
                f"topic {topic!r} is the handler's own: its events would be aggregated again"
            )

    @property
    def interval_s(self) -> float:
        return parse_duration(self.interval)


class Aggregation:
    """The events of one interval, summed up as they come: their count, the highest level,
    the latest time, the longest duration, and the first MAX_DETAILS messages (an alert
    storm is counted, not held)."""

    def __init__(self) -> None:
        self.count = 0
        self.level = 0
        self.time = 0
        self.duration = 0
        self.messages: list[str] = []

    def add(self, doc: dict[str, Any]) -> None:
        self.count += 1
        level = doc.get("level")
        if level in LEVELS:
            self.level = max(self.level, LEVELS.index(str(level)))
        self.time = max(self.time, int(doc.get("time_ns") or 0))
        self.duration = max(self.duration, int(doc.get("duration") or 0))
        if len(self.messages) < MAX_DETAILS:
            self.messages.append(str(doc.get("message", "")))

    def event(self, o: AggregateOptions, topic: str, handler_id: str) -> AlertEvent:
        """The one event that stands for those added (at least one)."""
        text = render(o.message, {"count": str(self.count), "interval": o.interval})
        details = self.messages
        if self.count > len(details):
            details = [*details, f"... and {self.count - len(details)} more"]
        return AlertEvent(
            id=o.id or f"{topic}/{handler_id}",
            plugin=PLUGIN,
            instance=f"{topic}/{handler_id}",
            tags={},
            level=LEVELS[self.level],
            previous_level="OK",
            value=float(self.count),
            time=self.time,
            message=text if text is not None else o.message,
            duration=self.duration,
            topic=o.topic,
            details="\n".join(details),
        )


def no_sender(options: AggregateOptions, cfg: Config) -> Sender:
    """An aggregate handler sends nothing itself: its worker stores the aggregated events."""
    raise TypeError("aggregate handlers run in the topic handlers' aggregate loop")
