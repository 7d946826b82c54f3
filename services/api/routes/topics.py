"""/alerts/topics: topics, their alerts and their handlers, with Kapacitor's routes.

GET    /alerts/topics                          every topic: level, alerts, handlers
GET    /alerts/topics/{topic}                  one topic and the last event of each alert
DELETE /alerts/topics/{topic}                  forget a topic's alerts (handlers stay)
GET    /alerts/topics/{topic}/events           the last event of each of its alerts
GET    /alerts/topics/{topic}/handlers         its handlers
POST   /alerts/topics/{topic}/handlers         define a handler (201 new, 200 replaced)
GET    /alerts/topics/{topic}/handlers/{id}    a handler, with its counters
PUT    /alerts/topics/{topic}/handlers/{id}    replace a handler
DELETE /alerts/topics/{topic}/handlers/{id}    delete a handler
GET    /alerts/topic-handlers                  every handler of every topic
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import orjson
from fastapi import APIRouter, Depends, Request, Response

from kapacitor.alerting.names import name_problem
from kapacitor.alerting.topic_handlers import HandlerStats, TopicHandler, check_handler
from kapacitor.api import V1
from kapacitor.bus import subjects
from kapacitor.bus.topic_store import topic_level
from kapacitor.errors import Conflict, NotFound, RequestError
from services.api.body import read_body
from services.api.state import ApiState, api_state

router = APIRouter(prefix=V1 + "/alerts")
Api = Annotated[ApiState, Depends(api_state)]


def _topic_name(topic: str) -> str:
    problem = name_problem(topic, "topic")
    if problem is not None:
        raise RequestError(problem)
    return topic


def _handler_doc(spec: TopicHandler, stats: HandlerStats | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = msgspec.to_builtins(spec)
    if not spec.plugin:
        del doc["plugin"]  # defined by hand: the document Kapacitor's users know
    if stats is not None:
        counters = msgspec.to_builtins(stats)
        doc["stats"] = {k: v for k, v in counters.items() if k not in ("topic", "id")}
    return doc


def _read_topic(topic: str) -> str:
    """A topic whose handlers are listed: a name, or EVERY_TOPIC (the webhooks)."""
    return topic if topic == subjects.EVERY_TOPIC else _topic_name(topic)


async def _not_owned(api: ApiState, topic: str, handler_id: str) -> None:
    """Conflict when the handler is a plugin's (its script's notify=, its --webhook) or the
    server's webhook: it changes with what defines it."""
    old = await api.handlers.find(topic, handler_id)
    if old is not None and old.owner:
        what = "the plugin" if old.plugin else "[alert] webhook-url"
        raise Conflict(
            f"handler {handler_id!r} of topic {topic!r} is attached by {old.owner}: "
            f"change or delete {what}"
        )


async def _body(request: Request, api: ApiState) -> Any:
    data = await read_body(request, api)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise RequestError(f"invalid request: the body is not JSON: {e}") from None


@router.get("/topics")
async def list_topics(api: Api) -> dict[str, Any]:
    events = await api.topics.events()
    handlers = await api.handlers.list()
    names = sorted(set(events) | {h.topic for h in handlers})
    return {
        "topics": [
            {
                "id": name,
                "level": topic_level(events.get(name, [])),
                "alerts": len(events.get(name, [])),
                "handlers": sum(1 for h in handlers if h.topic == name),
            }
            for name in names
        ]
    }


@router.get("/topics/{topic}")
async def get_topic(topic: str, api: Api) -> dict[str, Any]:
    events = (await api.topics.events(_topic_name(topic))).get(topic, [])
    handlers = await api.handlers.list(topic)
    if not events and not handlers:
        raise NotFound(f"no topic {topic!r}: no alert sent events to it and it has no handlers")
    return {
        "id": topic,
        "level": topic_level(events),
        "events": events,
        "handlers": [_handler_doc(h) for h in handlers],
    }


@router.delete("/topics/{topic}", status_code=204)
async def delete_topic(topic: str, api: Api) -> Response:
    if not await api.topics.delete(_topic_name(topic)) and not await api.handlers.list(topic):
        raise NotFound(f"no topic {topic!r}")
    return Response(status_code=204)


@router.get("/topics/{topic}/events")
async def topic_events(topic: str, api: Api) -> dict[str, Any]:
    return {"events": (await api.topics.events(_topic_name(topic))).get(topic, [])}


@router.get("/topics/{topic}/handlers")
async def topic_handlers(topic: str, api: Api) -> dict[str, Any]:
    return {
        "topic": topic,
        "handlers": [_handler_doc(h) for h in await api.handlers.list(_read_topic(topic))],
    }


@router.get("/topic-handlers")
async def all_handlers(api: Api) -> dict[str, Any]:
    return {"handlers": [_handler_doc(h) for h in await api.handlers.list()]}


@router.post("/topics/{topic}/handlers", status_code=201)
async def define_handler(topic: str, request: Request, response: Response, api: Api) -> Any:
    """Define a handler of `topic` from its definition (id, kind, match, options; topic may
    be left out). Events of the topic are kept for it from this answer on."""
    spec = check_handler(await _body(request, api), topic=_topic_name(topic))
    await _not_owned(api, topic, spec.id)
    if not await api.handlers.define(spec):
        response.status_code = 200
    return _handler_doc(spec)


@router.put("/topics/{topic}/handlers/{handler_id}")
async def replace_handler(topic: str, handler_id: str, request: Request, api: Api) -> Any:
    spec = check_handler(await _body(request, api), topic=_topic_name(topic), handler_id=handler_id)
    await _not_owned(api, topic, handler_id)
    await api.handlers.define(spec)
    return _handler_doc(spec)


@router.get("/topics/{topic}/handlers/{handler_id}")
async def get_handler(topic: str, handler_id: str, api: Api) -> Any:
    spec = await api.handlers.get(topic, handler_id)
    return _handler_doc(spec, await api.handlers.stats(topic, handler_id))


@router.delete("/topics/{topic}/handlers/{handler_id}", status_code=204)
async def delete_handler(topic: str, handler_id: str, api: Api) -> Response:
    await _not_owned(api, topic, handler_id)
    await api.handlers.delete(topic, handler_id)
    return Response(status_code=204)
