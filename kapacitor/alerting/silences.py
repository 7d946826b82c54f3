"""Silences: for a while, alert events that match an expression are recorded (history, topic
state, the alert log) but sent to no handler. Kapacitor has none; Alertmanager's are the model.

A silence is stored in JetStream KV (kapacitor.bus.silence_store), so it survives restarts,
and every interpreter watches the bucket, so it applies on every host. An interpreter stamps
each event a silence matches, when it stores it, with `suppressed = "silenced:<id>"`; the
notifier and the topic handlers send no stamped event. Its `match` is a topic handler's
(kapacitor.alerting.event_match): a where clause over the event's level, tags, plugin, topic,
category...
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence

import msgspec

from kapacitor.alerting.document import event_document
from kapacitor.alerting.event_match import EventMatch
from kapacitor.engine import AlertEvent
from kapacitor.errors import KapacitorError, RequestError

MAX_COMMENT = 1024
MAX_SILENCE_S = 366 * 24 * 3600  # a silence longer than a year is a deleted alert


class Silence(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    match: str
    comment: str = ""
    created: int  # ns, the server's clock
    ends: int  # ns; expiring a silence sets it to the time it was expired

    def active(self, now_ns: int) -> bool:
        return self.created <= now_ns < self.ends


def new_silence(match: str, for_ns: int, comment: str, now_ns: int) -> Silence:
    """A silence from a request; RequestError naming what is wrong."""
    text = match.strip()
    if not text:
        raise RequestError("a silence needs a match: which events it silences (e.g. host = 'a')")
    try:
        EventMatch(text)
    except KapacitorError as e:
        raise RequestError(f"silence match: {e}") from None
    if for_ns <= 0:
        raise RequestError("a silence lasts longer than 0 (--for 2h)")
    if for_ns > MAX_SILENCE_S * 1_000_000_000:
        raise RequestError("a silence lasts at most a year (--for 8784h)")
    if len(comment) > MAX_COMMENT:
        raise RequestError(f"a silence comment has at most {MAX_COMMENT} characters")
    return Silence(
        id=secrets.token_hex(6), match=text, comment=comment, created=now_ns, ends=now_ns + for_ns
    )


class ActiveSilences:
    """The silences an interpreter applies: compiled once per change of the bucket."""

    def __init__(self) -> None:
        self._silences: list[tuple[Silence, EventMatch]] = []

    def update(self, silences: Iterable[Silence]) -> None:
        compiled = []
        for s in sorted(silences, key=lambda s: s.id):
            try:
                compiled.append((s, EventMatch(s.match)))
            except KapacitorError:  # stored before a rule tightened: never silences
                continue
        self._silences = compiled

    def apply(self, events: Sequence[AlertEvent], now_ns: int) -> list[AlertEvent]:
        """`events`, those a silence active at `now_ns` matches stamped `silenced:<id>` (the
        first such silence by id); events already suppressed stay as they are."""
        live = [(s, m) for s, m in self._silences if s.active(now_ns)]
        if not live or not events:
            return list(events)
        docs = [event_document(e) for e in events]
        out = list(events)
        for silence, match in live:
            for i, hit in enumerate(match.matches(docs)):
                if hit and not out[i].suppressed:
                    out[i] = msgspec.structs.replace(out[i], suppressed=f"silenced:{silence.id}")
        return out
