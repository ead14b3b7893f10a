"""Error answers as RFC 9457 problem details, and the guard that turns outages into quick 503s.

Every error body is ``application/problem+json`` with ``type``, ``title``, ``status`` and ``detail``,
plus this project's older keys (``error``: a stable code, ``message``: the same text as ``detail``,
and whatever details the error carries, e.g. ``rule`` or ``problems``), so existing clients keep
working.

- a :class:`~civicgrid_runtime.errors.CivicGridError` keeps its status code (400/403/404/409/422);
- FastAPI's and Starlette's ``HTTPException`` (401, 403 from the bearer dependency, 404 for an
  unknown route, 405...) keep theirs;
- a transient error (:func:`civicgrid_runtime.faults.is_transient`: a store or the broker is
  unavailable, ``StoreUnavailable``) becomes **503 with ``Retry-After``**, logged as one warning
  line without traceback;
- a body larger than the limit is refused with **413** before it is read;
- optionally, a request that has not started its answer after ``deadline_seconds`` is cancelled
  and answered 503 (a store that accepts connections but does not answer, e.g. one starting up);
- anything else becomes a 500 problem whose log line (with the traceback) passes through the same
  personal-data redaction as every log line; the exception never reaches the server's own logger.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from civicgrid_runtime.correlation import current_correlation_id
from civicgrid_runtime.errors import CivicGridError, StoreUnavailable
from civicgrid_runtime.faults import describe, is_transient
from civicgrid_runtime.logging import get_logger
from civicgrid_runtime.pii import redact_text

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:civicgrid:problem:"
RETRY_AFTER_SECONDS = 2
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
"""JSON and form bodies: far above any document this project accepts."""
DEFAULT_MAX_UPLOAD_BYTES = 25 * 1024 * 1024
"""``multipart/form-data`` bodies (roster files; the routes themselves stop at 20 MB)."""

log = get_logger(__name__)

_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    428: "precondition_required",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}


def problem_body(
    status: int, code: str, detail: str, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """An RFC 9457 body that also carries the older ``error``/``message`` keys (which, like the
    RFC's members, win over an extra of the same name, e.g. an error detail called ``code``)."""
    return {
        **(extra or {}),
        "type": PROBLEM_TYPE_PREFIX + code,
        "title": _title(status, code),
        "status": status,
        "detail": detail,
        "error": code,
        "message": detail,
    }


def problem_response(
    status: int,
    code: str,
    detail: str,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    return JSONResponse(
        problem_body(status, code, detail, extra),
        status_code=status,
        headers=dict(headers or {}),
        media_type=PROBLEM_JSON,
    )


def _title(status: int, code: str) -> str:
    if code == _CODES.get(status) or code == "invalid_input":
        try:
            return HTTPStatus(status).phrase
        except ValueError:
            pass
    return code.replace("_", " ").capitalize()


def unavailable_response(error: BaseException) -> JSONResponse:
    seconds = error.retry_after_seconds if isinstance(error, StoreUnavailable) else RETRY_AFTER_SECONDS
    return problem_response(
        503,
        "service_unavailable",
        f"a store this service depends on is unavailable right now; retry after {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


class BodyTooLarge(StarletteHTTPException):
    """Raised while a body is read once it passes the limit (bodies without ``Content-Length``)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(CivicGridError)
    async def domain_error(_request: Request, error: CivicGridError) -> JSONResponse:
        body = error.to_body()
        extra = {k: v for k, v in body.items() if k not in {"error", "message"}}
        return problem_response(error.status_code, error.code, error.message, extra=extra)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in error.errors()
        ]
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        return problem_response(422, "invalid_input", summary, extra={"problems": problems})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = _CODES.get(error.status_code, f"http_{error.status_code}")
        detail = error.detail if isinstance(error.detail, str) else str(error.detail)
        return problem_response(error.status_code, code, detail, headers=error.headers)

    @app.exception_handler(StoreUnavailable)
    async def store_unavailable(_request: Request, error: StoreUnavailable) -> JSONResponse:
        _log_unavailable(error)
        return unavailable_response(error)


def _log_unavailable(error: BaseException) -> None:
    log.warning(
        "answered 503: a store or the broker is unavailable", error=redact_text(describe(error))[:300]
    )


class ProblemMiddleware:
    """Pure ASGI (inside the correlation middleware, outside FastAPI's exception handlers):

    refuses bodies over the limit (413, from ``Content-Length`` before reading, or while reading),
    turns transient errors into 503 + ``Retry-After`` and every other escaped error into a 500
    problem, logged with a redacted traceback. An error after the response has started (a stream)
    cannot change the answer: it is logged and re-raised.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
        deadline_seconds: float | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes
        self.deadline_seconds = deadline_seconds

    def _limit(self, scope: Scope) -> int:
        headers = dict(scope.get("headers") or ())
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        return self.max_upload_bytes if content_type.startswith("multipart/") else self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _answer_unread(
                problem_response(413, "payload_too_large", f"the request body is larger than {limit} bytes"),
                scope,
                receive,
                send,
            )
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        started = False
        deadline = asyncio.timeout(self.deadline_seconds)

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                deadline.reschedule(None)  # a stream, once it answers, runs as long as it likes
            await send(message)

        try:
            async with deadline:
                await self.app(scope, limited_receive, watched_send)
        except Exception as error:
            if started:
                log.exception("request failed after its response started")
                raise
            if isinstance(error, BodyTooLarge):
                response = problem_response(413, "payload_too_large", str(error.detail))
            elif is_transient(error):
                _log_unavailable(error)
                response = unavailable_response(error)
            else:
                log.exception("unhandled error; answered 500", error=type(error).__name__)
                correlation = current_correlation_id()
                response = problem_response(
                    500,
                    "internal_error",
                    "an unexpected error; it was logged"
                    + (f" with correlation id {correlation}" if correlation else ""),
                )
            await response(scope, receive, send)


async def _answer_unread(response: JSONResponse, scope: Scope, receive: Receive, send: Send) -> None:
    # The body is not read: the server closes the connection after answering (HTTP/1.1 allows a
    # server to answer before the request body arrives).
    response.headers["Connection"] = "close"
    await response(scope, receive, send)
