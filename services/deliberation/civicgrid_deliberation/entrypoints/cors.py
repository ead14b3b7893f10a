"""Cross-origin reads and ballots from the member's phone app, which notifications serves on its own
origin: only the origins listed in ``DELIBERATION_CORS_ALLOWED_ORIGINS`` (never ``*``), bearer tokens in
the ``Authorization`` header (no cookies, so no credentials mode)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

ALLOWED_METHODS = ["GET", "POST"]
ALLOWED_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key"]


def allow_origins(app: FastAPI, origins: Sequence[str]) -> None:
    """Answer preflights and add ``Access-Control-Allow-Origin`` for the listed origins only (the
    outermost middleware, so refusals — 401, 403, 422 — carry it too and the page can read them)."""
    if not origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_methods=ALLOWED_METHODS,
        allow_headers=ALLOWED_HEADERS,
        allow_credentials=False,
        max_age=600,
    )
