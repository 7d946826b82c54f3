"""The API's exception handlers: every error becomes `{"error": ...}` with the status of the one
table (kapacitor.api.status); routes raise, never map."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from kapacitor.api.status import STATUS, error_document, status_of
from kapacitor.errors import RequestError


async def _error(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(error_document(exc), status_code=status_of(exc))


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
        parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    return await _error(request, RequestError("invalid request: " + "; ".join(parts)))


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # unknown route, wrong method
    return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)


def install(app: FastAPI) -> None:
    for cls in STATUS:
        app.add_exception_handler(cls, _error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
