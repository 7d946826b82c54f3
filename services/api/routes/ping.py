"""GET|HEAD /ping: the server is up (204)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from kapacitor.api import V1

router = APIRouter()


async def ping() -> Response:
    return Response(status_code=204)


# One route per path and method: a GET+HEAD route would give both the same OpenAPI id.
for _path in ("/ping", V1 + "/ping"):
    for _method in ("GET", "HEAD"):
        router.add_api_route(
            _path,
            ping,
            methods=[_method],
            status_code=204,
            operation_id=f"ping{_path.replace('/', '_')}_{_method.lower()}",
        )
