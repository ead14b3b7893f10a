"""The FastAPI application every service starts from."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager

import structlog
from fastapi import FastAPI, Request, Response

from civicgrid_runtime.correlation import bind_correlation_id
from civicgrid_runtime.http.health import HealthChecks
from civicgrid_runtime.http.problems import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_UPLOAD_BYTES,
    ProblemMiddleware,
    install_problem_handlers,
)
from civicgrid_runtime.logging import get_logger
from civicgrid_runtime.settings import ServiceSettings

CORRELATION_HEADER = "X-Correlation-ID"
log = get_logger(__name__)

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_service_app(
    title: str,
    description: str,
    health: HealthChecks,
    lifespan: Lifespan | None = None,
    version: str = "0.1.0",
    *,
    settings: ServiceSettings | None = None,
    max_body_bytes: int | None = None,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    request_deadline_seconds: float | None = None,
) -> FastAPI:
    """A FastAPI app with health routes, correlation ids, RFC 9457 error bodies, quick 503s on
    outages and a body-size limit (``max_body_bytes``, else ``settings.http_max_body_bytes``, else
    1 MiB; ``multipart/form-data`` uploads get ``max_upload_bytes``), and optionally a deadline
    (``request_deadline_seconds``, else ``settings.http_request_deadline_seconds``) after which a
    request that has not begun to answer is cancelled and answered 503. See :mod:`.problems`.

    ``app.state.health`` is the ``HealthChecks``: :class:`~civicgrid_runtime.service.ServiceLifecycle`
    adds the consumers' readiness there when the app starts.
    """
    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan)
    app.state.health = health
    app.include_router(health.router())
    install_problem_handlers(app)
    limit = max_body_bytes or (settings.http_max_body_bytes if settings else DEFAULT_MAX_BODY_BYTES)
    deadline = request_deadline_seconds or (settings.http_request_deadline_seconds if settings else None)
    app.add_middleware(
        ProblemMiddleware, max_body_bytes=limit, max_upload_bytes=max_upload_bytes, deadline_seconds=deadline
    )

    @app.middleware("http")
    async def correlation(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        structlog.contextvars.clear_contextvars()
        incoming = request.headers.get(CORRELATION_HEADER) or request.headers.get("X-Request-ID")
        correlation_id = bind_correlation_id(incoming)
        structlog.contextvars.bind_contextvars(method=request.method, path=request.url.path)
        response = await call_next(request)
        response.headers[CORRELATION_HEADER] = correlation_id
        return response

    return app
