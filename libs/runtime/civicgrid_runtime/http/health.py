"""``/healthz``: the process is alive. ``/readyz``: Kafka and the store answer, and no consumer is
stalled on an unavailable store (the ``consumers`` check the service lifecycle adds)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

Probe = Callable[[], Awaitable[object]]
DETAIL_LIMIT = 600


class Liveness(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    checks: dict[str, str] = Field(description='Each check: "ok", or "failing: <why>".')


class HealthChecks:
    def __init__(self, timeout_seconds: float = 3.0) -> None:
        self._probes: dict[str, Probe] = {}
        self._timeout = timeout_seconds

    def add(self, name: str, probe: Probe) -> None:
        self._probes[name] = probe

    def __contains__(self, name: object) -> bool:
        return name in self._probes

    async def run(self) -> dict[str, str]:
        async def one(probe: Probe) -> str:
            try:
                async with asyncio.timeout(self._timeout):
                    await probe()
            except Exception as error:
                return f"failing: {type(error).__name__}: {error}"[:DETAIL_LIMIT]
            return "ok"

        names = list(self._probes)
        results = await asyncio.gather(*(one(self._probes[n]) for n in names))
        return dict(zip(names, results, strict=True))

    def router(self) -> APIRouter:
        router = APIRouter(tags=["health"])

        @router.get("/healthz", summary="The process is alive", response_model=Liveness)
        async def healthz() -> dict[str, str]:
            return {"status": "ok"}

        @router.get(
            "/readyz",
            summary="Kafka and the store answer",
            response_model=Readiness,
            responses={503: {"model": Readiness, "description": "Not ready: the failing checks say why"}},
        )
        async def readyz() -> JSONResponse:
            checks = await self.run()
            ready = all(v == "ok" for v in checks.values())
            return JSONResponse(
                {"status": "ready" if ready else "not ready", "checks": checks},
                status_code=200 if ready else 503,
            )

        return router
