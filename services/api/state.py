"""What the API's routes share: the bus, the stores on it, the clock and the config; and how
they ask every interpreter a question."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from kapacitor.bus import subjects
from kapacitor.bus.alert_store import AlertStore
from kapacitor.bus.auth_store import AuthStore
from kapacitor.bus.client import NatsBus, kv_bucket
from kapacitor.bus.cluster_store import ClusterStore
from kapacitor.bus.handler_store import HandlerStore
from kapacitor.bus.input_store import InputStore
from kapacitor.bus.plugin_store import PluginStore, StatsStore
from kapacitor.bus.recording_store import RecordingStore
from kapacitor.bus.silence_store import SilenceStore
from kapacitor.bus.topic_store import TopicStore
from kapacitor.clock import Clock
from kapacitor.config import Config
from kapacitor.replay.control import ReplayControl
from services.api.auth import Authenticator

ASK_TIMEOUT_S = 2.0  # how long the slowest interpreter has to answer (`kapacitor alerts`)
INTERPRETER = "interpreter"


@dataclass
class ApiState:
    cfg: Config
    bus: NatsBus
    clock: Clock
    plugins: PluginStore
    stats: StatsStore
    recordings: RecordingStore
    alerts: AlertStore
    cluster: ClusterStore
    replay: ReplayControl
    handlers: HandlerStore
    topics: TopicStore
    silences: SilenceStore
    inputs: InputStore
    auth: AuthStore
    authenticator: Authenticator


async def open_state(cfg: Config, bus: NatsBus, clock: Clock) -> ApiState:
    js = bus.js
    stats = StatsStore(js, await kv_bucket(js, subjects.STATS_BUCKET))
    stats.follow()
    auth = AuthStore(await kv_bucket(js, subjects.AUTH_BUCKET))
    auth.follow()
    return ApiState(
        cfg=cfg,
        bus=bus,
        clock=clock,
        plugins=PluginStore(await kv_bucket(js, subjects.PLUGINS_BUCKET)),
        stats=stats,
        recordings=RecordingStore(js, await kv_bucket(js, subjects.RECORDINGS_BUCKET)),
        alerts=AlertStore(js),
        cluster=await ClusterStore.open(js),
        replay=ReplayControl(bus),
        handlers=HandlerStore(
            js,
            await kv_bucket(js, subjects.TOPIC_HANDLERS_BUCKET),
            await kv_bucket(js, subjects.HANDLER_STATS_BUCKET),
        ),
        topics=TopicStore(js, await kv_bucket(js, subjects.TOPICS_BUCKET)),
        silences=SilenceStore(await kv_bucket(js, subjects.SILENCES_BUCKET)),
        inputs=await InputStore.open(js, cfg.cluster.replicas),
        auth=auth,
        authenticator=Authenticator(auth, clock),
    )


async def api_state(request: Request) -> ApiState:
    """The route dependency: the state the app's lifespan opened. (A coroutine: FastAPI runs
    a plain function dependency in its thread pool, a thread hand-off on every request.)"""
    state: ApiState = request.app.state.api
    return state


async def ask_interpreters(api: ApiState, subject: str, data: bytes) -> tuple[list[bytes], int]:
    """Every running interpreter's answer to a question (those that answer in time), and how
    many run."""
    members = [m for m in await api.cluster.members() if m.info.service == INTERPRETER]
    answers = await api.bus.gather(
        subject, data, expected=max(1, len(members)), timeout=ASK_TIMEOUT_S
    )
    return answers, len(members)
