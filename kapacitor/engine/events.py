"""Alert events: what a plugin emits when an instance's alert state changes.

Messages: the default firing message is
``"{plugin} {instance} is {level}: value {value} {op} {threshold}"`` (e.g.
``cpu_idle cpu,host=a is CRITICAL: value 27.5 < 30``); the default recovery message is
``"{plugin} {instance} is OK: value {value} {op} {threshold} no longer holds
(was {previous_level})"`` (one line).
A user `message=` template is used for both and may name `{plugin}`, `{instance}`,
`{level}`, `{previous_level}`, `{value}`, `{op}`, `{threshold}`, `{time}`, `{duration}`,
`{topic}` and any
tag key of the instance (`{host}`); unknown placeholders stay as written.
"""

from __future__ import annotations

import msgspec

from kapacitor.engine.ops import fmt_number

DEFAULT_FIRING = "{plugin} {instance} is {level}: value {value} {op} {threshold}"
DEFAULT_RECOVERY = (
    "{plugin} {instance} is OK: value {value} {op} {threshold} no longer holds"
    " (was {previous_level})"
)


class AlertEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One state change of one alert of one instance.

    `duration` is the time since the alert first fired (0 on the firing event itself);
    `time` is the event time of the point that caused the change.
    """

    id: str
    plugin: str
    instance: str
    tags: dict[str, str]
    level: str
    previous_level: str
    value: float
    time: int
    message: str
    duration: int
    # For events no point causes (deadman checks): how many times the alert changed level
    # before this change, which names the event the same whoever computes it.
    change: int = 0
    topic: str = ""  # the alert's topic= ("": none)


class _Lenient(dict[str, str]):
    """Leaves `{unknown}` placeholders untouched instead of raising."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render_message(template: str, values: dict[str, str]) -> str:
    """`template` with `{name}` replaced from `values`; never raises on user templates."""
    try:
        return template.format_map(_Lenient(values))
    except (ValueError, IndexError, KeyError, AttributeError, TypeError):
        return template


def build_event(
    *,
    event_id: str,
    plugin: str,
    instance: str,
    tags: dict[str, str],
    level: str,
    previous_level: str,
    value: float,
    time: int,
    duration: int,
    op: str,
    threshold: float,
    template: str | None,
    change: int = 0,
    topic: str = "",
) -> AlertEvent:
    v, thr = fmt_number(value), fmt_number(threshold)
    if template is None:
        # The common case, formatted directly: events are rare but alert storms are not.
        if level != "OK":
            message = f"{plugin} {instance} is {level}: value {v} {op} {thr}"
        else:
            message = (
                f"{plugin} {instance} is OK: value {v} {op} {thr} no longer holds"
                f" (was {previous_level})"
            )
    else:
        values = dict(tags)
        values.update(
            plugin=plugin,
            instance=instance,
            level=level,
            previous_level=previous_level,
            value=v,
            op=op,
            threshold=thr,
            time=str(time),
            duration=str(duration),
            topic=topic,
        )
        message = render_message(template, values)
    return AlertEvent(
        id=event_id,
        plugin=plugin,
        instance=instance,
        tags=dict(tags),
        level=level,
        previous_level=previous_level,
        value=value,
        time=time,
        message=message,
        duration=duration,
        change=change,
        topic=topic,
    )
