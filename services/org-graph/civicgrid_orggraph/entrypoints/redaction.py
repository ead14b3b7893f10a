"""Error answers never repeat a clear phone or ID-card number a caller sent.

A 404 or 422 may quote what the caller asked for ("no place with code ..."); in one place, before the
runtime's problem handlers build the answer, the message, the details and the field paths of every
org-graph error pass through the personal-data redaction (``civicgrid_runtime.pii``): a phone is masked,
an ID-card number removed."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import Response

from civicgrid_runtime.errors import CivicGridError
from civicgrid_runtime.pii import redact, redact_text


def install_redaction(app: FastAPI) -> None:
    """Wrap the app's handlers of domain and validation errors (installed by ``create_service_app``)."""
    domain_handler = app.exception_handlers[CivicGridError]
    validation_handler = app.exception_handlers[RequestValidationError]

    async def domain_error(request: Request, error: Exception) -> Response:
        if isinstance(error, CivicGridError):
            error.message = redact_text(error.message)
            error.details = redact(error.details)
        return await _answer(domain_handler(request, error))

    async def validation_error(request: Request, error: Exception) -> Response:
        if isinstance(error, RequestValidationError):
            error = RequestValidationError(redact(list(error.errors())), body=None)
        return await _answer(validation_handler(request, error))

    app.add_exception_handler(CivicGridError, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)


async def _answer(answer: Response | Awaitable[Response]) -> Response:
    return await answer if inspect.isawaitable(answer) else answer
