"""The FastAPI application every service starts from."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import structlog
from fastapi import FastAPI, Request, Response

from civicgrid_runtime.correlation import bind_correlation_id
from civicgrid_runtime.http.health import HealthChecks
from civicgrid_runtime.http.problems import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_UPLOAD_BYTES,
    PROBLEM_JSON,
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

    document_error_answers(app)
    return app


HEALTH_PATHS = frozenset({"/healthz", "/readyz"})
READ_ERRORS = {
    "400": "The request cannot be read (e.g. a body that is not JSON)",
    "401": "No valid bearer token",
    "403": "The caller may not do this to this object",
    "404": "No such object, or one the caller may not see",
    "422": "Invalid input: the problem names each field and rule",
    "503": "A store or the broker is unavailable: retry after Retry-After seconds",
}
WRITE_ERRORS = {
    **READ_ERRORS,
    "409": "Conflicts with the current state (a version, an id reused with another body)",
    "413": "The body is larger than the service accepts",
}


def document_error_answers(app: FastAPI) -> None:
    """Declare, on every operation, the problem answers the runtime and the services can give, so the
    OpenAPI document describes every status a caller may see (a route's own declaration wins)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        problem = {"$ref": "#/components/schemas/Problem"}
        schema.setdefault("components", {}).setdefault("schemas", {}).setdefault("Problem", PROBLEM_SCHEMA)
        for path, operations in schema.get("paths", {}).items():
            if path in HEALTH_PATHS:
                continue
            for method, operation in operations.items():
                errors = READ_ERRORS if method in {"get", "head", "options"} else WRITE_ERRORS
                responses = operation.setdefault("responses", {})
                for status, description in errors.items():
                    responses.setdefault(
                        status,
                        {"description": description, "content": {PROBLEM_JSON: {"schema": problem}}},
                    )
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "An RFC 9457 problem; error and message repeat type and detail for older clients.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "error": {"type": "string"},
        "message": {"type": "string"},
    },
    "required": ["type", "title", "status", "detail"],
    "additionalProperties": True,
}
