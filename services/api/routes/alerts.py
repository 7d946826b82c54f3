"""Alerts as they stand, their history, and silences.

GET    /alerts                   every alert not OK now, asked of every interpreter
GET    /alerts/history           past events, newest first (?plugin ?topic ?level ?since ?limit)
GET    /alerts/silences          silences (?all=true: ended ones too)
POST   /alerts/silences          create one: {"match", "for" (a duration), "comment"} -> 201
GET    /alerts/silences/{id}     one silence
POST   /alerts/silences/{id}/expire   end it now
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, Request

from kapacitor.alerting.current import decode_raised, merge_raised
from kapacitor.alerting.silences import Silence, new_silence
from kapacitor.api import V1
from kapacitor.bus import subjects
from kapacitor.config import parse_duration
from kapacitor.engine.alert import LEVELS
from kapacitor.errors import CodecError, ConfigError, RequestError
from services.api.body import read_body
from services.api.state import ApiState, api_state, ask_interpreters

MAX_LIMIT = 10_000
MAX_DURATION_S = 100 * 365 * 86400

router = APIRouter(prefix=V1 + "/alerts")
Api = Annotated[ApiState, Depends(api_state)]


def _level(level: str) -> str:
    if level and level.upper() not in LEVELS:
        raise RequestError(f"unknown level {level!r} (levels: {', '.join(LEVELS)})")
    return level.upper()


def _duration_ns(text: str, what: str) -> int:
    try:
        seconds = parse_duration(text)
    except ConfigError as e:
        raise RequestError(f"{what}: {e}") from None
    if not 0 < seconds < MAX_DURATION_S:  # NaN and inf too
        raise RequestError(f"{what}: a duration above 0 and below 100 years, got {text!r}")
    return round(seconds * 1e9)


@router.get("")
async def current(api: Api, plugin: str = "", topic: str = "", level: str = "") -> dict[str, Any]:
    answers, running = await ask_interpreters(api, subjects.ALERTS_QUERY, b"")
    replies = []
    for data in answers:
        try:
            replies.append(decode_raised(data))
        except CodecError:
            continue
    alerts = merge_raised(replies, plugin=plugin, topic=topic, level=_level(level))
    return {
        "alerts": [msgspec.to_builtins(a) for a in alerts],
        "interpreters": {"answered": len(replies), "running": running},
    }


@router.get("/history")
async def history(
    api: Api,
    plugin: str = "",
    topic: str = "",
    level: str = "",
    since: str = "",
    limit: int = 100,
) -> dict[str, Any]:
    since_ns = api.clock.now_ns() - _duration_ns(since, "since") if since else 0
    events = await api.alerts.history(
        plugin=plugin,
        topic=topic,
        level=_level(level),
        since_ns=since_ns,
        limit=max(1, min(limit, MAX_LIMIT)),
    )
    return {"events": events}


def _silence_doc(s: Silence, now_ns: int) -> dict[str, Any]:
    return {**msgspec.to_builtins(s), "active": s.active(now_ns)}


@router.get("/silences")
async def list_silences(api: Api, all: bool = False) -> dict[str, Any]:
    now = api.clock.now_ns()
    found = await api.silences.list()
    return {"silences": [_silence_doc(s, now) for s in found if all or s.ends > now]}


class SilenceBody(msgspec.Struct, forbid_unknown_fields=True):
    match: str
    for_: str = msgspec.field(name="for")
    comment: str = ""


@router.post("/silences", status_code=201)
async def create_silence(api: Api, request: Request) -> dict[str, Any]:
    data = await read_body(request, api)
    try:
        body = msgspec.json.decode(data, type=SilenceBody)
    except msgspec.ValidationError as e:
        raise RequestError(f"invalid silence: {e}") from None
    except msgspec.DecodeError as e:
        raise RequestError(f"invalid request: the body is not JSON: {e}") from None
    now = api.clock.now_ns()
    silence = new_silence(body.match, _duration_ns(body.for_, "for"), body.comment, now)
    await api.silences.put(silence)  # answered once the server has stored it
    return _silence_doc(silence, now)


@router.get("/silences/{silence_id}")
async def get_silence(api: Api, silence_id: str) -> dict[str, Any]:
    return _silence_doc(await api.silences.get(silence_id), api.clock.now_ns())


@router.post("/silences/{silence_id}/expire")
async def expire_silence(api: Api, silence_id: str) -> dict[str, Any]:
    now = api.clock.now_ns()
    return _silence_doc(await api.silences.expire(silence_id, now), now)


__all__ = ["router"]
