"""GET /alerts: the most recent alert events, newest last."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from kapacitor.api import V1
from services.api.state import ApiState, api_state

MAX_LIMIT = 10_000

router = APIRouter(prefix=V1)


@router.get("/alerts")
async def alerts(
    api: Annotated[ApiState, Depends(api_state)], plugin: str = "", limit: int = 100
) -> dict[str, Any]:
    return {"alerts": await api.alerts.recent(plugin, max(1, min(limit, MAX_LIMIT)))}
