"""GET /kapacitor/v1/cluster: every service instance; GET /kapacitor/v1/inputs: the UDP
listeners and InfluxDB subscriptions; GET /metrics: the counters of every plugin, input and
the state of every service instance, in Prometheus text format."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from kapacitor.api import V1
from kapacitor.api.cluster import cluster_document
from kapacitor.api.metrics import MetricsCollector
from kapacitor.bus import subjects
from services.api.state import ApiState, api_state

router = APIRouter()
Api = Annotated[ApiState, Depends(api_state)]


async def cluster_state(api: ApiState) -> dict[str, Any]:
    members = await api.cluster.members()
    holders = await api.cluster.lease_holders("interpreter")
    lag: dict[str, int] = {}
    for p, member in holders.items():
        n = await api.cluster.pending(subjects.MATCHED_STREAM, subjects.partition_consumer(p))
        lag[member] = lag.get(member, 0) + (n or 0)
    matcher = await api.cluster.pending(subjects.POINTS_STREAM, subjects.MATCHER_CONSUMER)
    for m in members:
        if m.info.service == "matcher" and matcher is not None:
            lag[m.id] = matcher
    return cluster_document(
        members,
        api.cfg.cluster.partitions,
        holders,
        lag,
        api.clock.now_ns(),
        api.cfg.cluster.heartbeat.seconds,
    )


@router.get(V1 + "/cluster")
async def cluster(api: Api) -> dict[str, Any]:
    return await cluster_state(api)


@router.get(V1 + "/inputs")
async def inputs(api: Api) -> dict[str, Any]:
    udp, subscriptions = await api.inputs.read()
    return {
        "udp": msgspec.to_builtins(udp),
        "subscriptions": msgspec.to_builtins(subscriptions),
    }


@router.get("/metrics")
async def metrics(api: Api) -> Response:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        MetricsCollector(await api.stats.all(), await cluster_state(api), await api.inputs.read())
    )
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
