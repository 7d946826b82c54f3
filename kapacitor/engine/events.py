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

from kapacitor.alerting.templates import render
from kapacitor.engine.ops import fmt_number

DEFAULT_FIRING = "{plugin} {instance} is {level}: value {value} {op} {threshold}"
# The message of the event of an alert forgotten while raised (its instance expired).
FORGOTTEN = "{plugin} {instance} is no longer watched: no point for {idle} (was {previous_level})"
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
    details: str = ""  # details= rendered ("": none)
    category: str = ""  # category= ("": none)
    recoverable: bool = True  # False: no_recoveries (its OK events are sent to no handler)
    # Why handlers do not send this event, though it is recorded: "no_recoveries",
    # "silenced:<id>", "inhibited:<category>" ("": they send it).
    suppressed: str = ""
    template_error: str = ""  # a message computed per point that could not be read
    expired: bool = False  # its instance was forgotten (--expire) while the alert was raised


def alert_id(plugin: str, instance: str, index: int, many: bool) -> str:
    """The default id of an alert of an instance: `<plugin>:<instance>`, and `#<index>` (the
    statement's place) when the plugin has more than one alert statement."""
    return f"{plugin}:{instance}#{index}" if many else f"{plugin}:{instance}"


class RaisedAlert(msgspec.Struct, frozen=True, kw_only=True):
    """An alert of an instance that is not OK, as it stands (`kapacitor alerts`)."""

    id: str
    plugin: str
    instance: str
    tags: dict[str, str]
    level: str
    since: int  # when it left OK (the episode's first event), ns
    topic: str = ""
    category: str = ""


def instance_alert_id(
    id_template: str | None,
    plugin: str,
    instance: str,
    index: int,
    many: bool,
    tags: dict[str, str],
    topic: str,
) -> str:
    """The id of an alert of an instance: its `id=` template filled in (it names only what
    stays the same across events), else `alert_id`."""
    if id_template is None:
        return alert_id(plugin, instance, index, many)
    values = {**tags, "plugin": plugin, "instance": instance, "topic": topic}
    return render_message(id_template, values)


def render_message(template: str, values: dict[str, str]) -> str:
    """`template` with `{name}` replaced from `values`; never raises on user templates (one
    that cannot be read is used as written)."""
    text = render(template, values)
    return template if text is None else text


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
    id_template: str | None = None,
    details: str | None = None,
    category: str = "",
    recoverable: bool = True,
    expired: bool = False,
) -> AlertEvent:
    """The event of one level change. `template` (message=), `id_template` and `details` are
    filled from the event and the tags; a message computed per point that cannot be read is
    used as it is, and the event says why (`template_error`)."""
    v, thr = fmt_number(value), fmt_number(threshold)
    problem = ""
    values: dict[str, str] | None = None
    if template is None:
        # The default message, formatted directly: events are rare but alert storms are not
        # (R1: 36,800 events per million points).
        if level != "OK":
            message = f"{plugin} {instance} is {level}: value {v} {op} {thr}"
        else:
            message = (
                f"{plugin} {instance} is OK: value {v} {op} {thr} no longer holds"
                f" (was {previous_level})"
            )
    else:
        values = _values(
            tags, plugin, instance, level, previous_level, v, op, thr, time, duration, topic
        )
        rendered = render(template, values)
        if rendered is None:
            problem = (
                f"message {template!r} is not a template: {{ opens a placeholder "
                "(write {{ for a brace)"
            )
        message = template if rendered is None else rendered
    if id_template is None and details is None and recoverable and not problem:
        # The common case, built with the struct's defaults.
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
            category=category,
            expired=expired,
        )
    if id_template is not None or details is not None:
        if values is None:
            values = _values(
                tags, plugin, instance, level, previous_level, v, op, thr, time, duration, topic
            )
        if id_template is not None:
            event_id = render_message(id_template, values)  # read when the script was defined
        details = None if details is None else render_message(details, values)
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
        details=details or "",
        category=category,
        recoverable=recoverable,
        suppressed="no_recoveries" if not recoverable and level == "OK" else "",
        template_error=problem,
        expired=expired,
    )


def _values(
    tags: dict[str, str],
    plugin: str,
    instance: str,
    level: str,
    previous_level: str,
    value: str,
    op: str,
    threshold: str,
    time: int,
    duration: int,
    topic: str,
) -> dict[str, str]:
    values = dict(tags)
    values.update(
        plugin=plugin,
        instance=instance,
        level=level,
        previous_level=previous_level,
        value=value,
        op=op,
        threshold=threshold,
        time=str(time),
        duration=str(duration),
        topic=topic,
    )
    return values
