"""The replay service's control protocol: what the API asks over NATS and what comes back.

Requests go to `kapacitor.replay.ctl.<verb>` (`subjects.replay_ctl`); the API decodes its HTTP
bodies straight into these structs, so one definition serves HTTP, the bus and the service.
A request is answered with the expected reply struct, or with `Failure`.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

import msgspec

from kapacitor.config import REPLAY_REPORT_ALERTS
from kapacitor.errors import CodecError, DslError, RequestError, ServiceFailed
from kapacitor.match import parse_where

__all__ = [
    "Failure",
    "Progress",
    "RecordPlugin",
    "RecordQuery",
    "RecordStream",
    "ReplayDone",
    "ReplayRequest",
    "decode_reply",
    "decode_request",
    "encode",
]

T = TypeVar("T")

NonNegative = Annotated[float, msgspec.Meta(ge=0.0)]
NonNegativeInt = Annotated[int, msgspec.Meta(ge=0)]


class RecordQuery(msgspec.Struct, frozen=True, kw_only=True):
    """Record what an InfluxQL query selects from an InfluxDB 1.x (verb `record_query`)."""

    host: str
    query: str
    db: str = ""
    rp: str = ""
    username: str = ""
    password: str = ""
    id: str = ""

    VERB = "record_query"


class RecordPlugin(msgspec.Struct, frozen=True, kw_only=True):
    """Record what a scheduled plugin's ticks of the last `past` seconds select from its
    InfluxDB, each tick's query over its own range (verb `record_plugin`)."""

    plugin: str
    past: Annotated[float, msgspec.Meta(gt=0.0)]
    id: str = ""

    VERB = "record_plugin"


class RecordStream(msgspec.Struct, frozen=True, kw_only=True):
    """Record the live stream, optionally narrowed; `duration` > 0 stops it after that many
    seconds (verb `record_stream`)."""

    from_: str = msgspec.field(default="", name="from")
    where: str = ""
    db: str = ""
    rp: str = ""
    duration: NonNegative = 0.0
    id: str = ""

    VERB = "record_stream"

    def describe(self) -> str:
        """The recording's `source`: the filter as given, or 'all points'."""
        given = {"from": self.from_, "where": self.where, "db": self.db, "rp": self.rp}
        return " ".join(f"{k}={v!r}" for k, v in given.items() if v) or "all points"

    def check_where(self) -> None:
        """RequestError when the where clause does not parse (before a recording starts)."""
        if self.where.strip():
            try:
                parse_where(self.where)
            except DslError as e:
                raise RequestError(f"where {e}") from None


class ReplayRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Replay a recording to a plugin in isolation (verb `replay`). `speed` 0 replays as fast
    as possible, 1 at the recorded pace. Progress and the report go to
    `subjects.replay_progress(replay_id)`."""

    recording: str
    plugin: str
    send_alerts: bool = False
    speed: NonNegative = 0.0
    replay_id: str = ""
    max_alerts: NonNegativeInt = REPLAY_REPORT_ALERTS  # alerts the report lists; 0: all

    VERB = "replay"


class Progress(msgspec.Struct, frozen=True):
    """How far a replay got, in points; published on its progress subject."""

    done: int
    total: int


class ReplayDone(msgspec.Struct, frozen=True):
    """The reply to `replay`: the report went ahead as this many numbered parts."""

    report_parts: int


class Failure(msgspec.Struct, frozen=True):
    """The reply to any request the service could not carry out."""

    failure: str


class _MaybeFailure(msgspec.Struct):
    failure: str = ""


def encode(message: msgspec.Struct) -> bytes:
    return msgspec.json.encode(message)


def decode_request(data: bytes, kind: type[T]) -> T:
    try:
        return msgspec.json.decode(data or b"{}", type=kind)
    except msgspec.DecodeError as e:  # ValidationError included
        raise CodecError(f"invalid {kind.__name__}: {e}") from e


def decode_reply(data: bytes, kind: type[T]) -> T:
    """The reply as `kind`; ServiceFailed when the service answered with a Failure."""
    try:
        failed = msgspec.json.decode(data, type=_MaybeFailure)
        if failed.failure:
            raise ServiceFailed(failed.failure)
        return msgspec.json.decode(data, type=kind)
    except msgspec.DecodeError as e:
        raise CodecError(f"unreadable {kind.__name__} reply: {e}") from e
