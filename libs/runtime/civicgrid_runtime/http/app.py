"""The FastAPI application every service starts from."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from civicgrid_runtime.correlation import bind_correlation_id
from civicgrid_runtime.errors import CivicGridError
from civicgrid_runtime.http.health import HealthChecks
from civicgrid_runtime.logging import get_logger

CORRELATION_HEADER = "X-Correlation-ID"
log = get_logger(__name__)

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_service_app(
    title: str,
    description: str,
    health: HealthChecks,
    lifespan: Lifespan | None = None,
    version: str = "0.1.0",
) -> FastAPI:
    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan)
    app.include_router(health.router())

    @app.middleware("http")
    async def correlation(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        structlog.contextvars.clear_contextvars()
        incoming = request.headers.get(CORRELATION_HEADER) or request.headers.get("X-Request-ID")
        correlation_id = bind_correlation_id(incoming)
        structlog.contextvars.bind_contextvars(method=request.method, path=request.url.path)
        response = await call_next(request)
        response.headers[CORRELATION_HEADER] = correlation_id
        return response

    @app.exception_handler(CivicGridError)
    async def domain_error(_request: Request, error: CivicGridError) -> JSONResponse:
        return JSONResponse(error.to_body(), status_code=error.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in error.errors()
        ]
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        return JSONResponse(
            {"error": "invalid_input", "message": summary, "problems": problems}, status_code=422
        )

    return app
