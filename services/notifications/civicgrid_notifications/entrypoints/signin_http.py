"""HTTP: sign in on a phone with its number and a one-time SMS code; refresh; sign out.

No bearer token on these routes (they are how a phone gets one). Codes are asked for at most once a
minute and five times an hour per number, thirty times an hour per client address: beyond, 429 with
``Retry-After``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StringConstraints

from civicgrid_notifications.entrypoints.schemas import Strict, _problem
from civicgrid_notifications.service_layer.signin import PhoneSignIn, Tokens, TooManyRequests
from civicgrid_runtime.http.problems import problem_response

PhoneText = Annotated[str, StringConstraints(min_length=11, max_length=20, pattern=r"^[0-9+\-() ]+$")]


class CodeRequestIn(Strict):
    phone: PhoneText = Field(description="Mainland mobile number (+86 and spaces allowed); never stored.")


class CodeRequestOut(BaseModel):
    expires_in: int = Field(description="Seconds the code stays valid.")
    resend_after: int = Field(description="Seconds before another code may be asked for this number.")


class VerifyIn(Strict):
    phone: PhoneText
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{4,8}$")]


class RefreshIn(Strict):
    refresh_token: Annotated[
        str, StringConstraints(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")
    ]


class TokensOut(BaseModel):
    access_token: str = Field(description="A member bearer token (JWT) for this service.")
    token_type: str = "Bearer"
    expires_in: int
    refresh_token: str = Field(description="Use once with POST /auth/refresh; the answer has a new one.")
    person_id: str

    @classmethod
    def of(cls, tokens: Tokens) -> TokensOut:
        return cls(
            access_token=tokens.access_token,
            expires_in=tokens.expires_in,
            refresh_token=tokens.refresh_token,
            person_id=tokens.person_id,
        )


RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _problem("The code (or refresh token) is wrong, spent or expired"),
    413: _problem("The body is larger than the service accepts"),
    422: _problem("Invalid input: the message names the field"),
    429: _problem("Too many requests: retry after Retry-After seconds"),
    503: _problem("Sign-in or the SMS gateway is not available; retry later"),
}


def _too_many(error: TooManyRequests) -> JSONResponse:
    return problem_response(
        429,
        "too_many_requests",
        error.message,
        headers={"Retry-After": str(error.retry_after_seconds)},
        extra={"retry_after": error.retry_after_seconds},
    )


def signin_router(sign_in: PhoneSignIn) -> APIRouter:
    router = APIRouter(prefix="/auth", tags=["sign-in"], responses=RESPONSES)

    @router.post(
        "/sms-code",
        status_code=202,
        summary="Send a one-time sign-in code to a member's phone (same answer for unknown numbers)",
        response_model=CodeRequestOut,
    )
    async def request_code(body: CodeRequestIn, request: Request) -> Any:
        client = request.client.host if request.client else "unknown"
        try:
            answer = await sign_in.request_code(body.phone, client)
        except TooManyRequests as error:
            return _too_many(error)
        return JSONResponse(CodeRequestOut(**answer).model_dump(), status_code=202)

    @router.post("/sms-code/verify", summary="Sign in with the code: a member token and a refresh token")
    async def verify(body: VerifyIn) -> TokensOut:
        return TokensOut.of(await sign_in.verify(body.phone, body.code))

    @router.post("/refresh", summary="A new token pair for a refresh token (which is spent: rotation)")
    async def refresh(body: RefreshIn) -> TokensOut:
        return TokensOut.of(await sign_in.refresh(body.refresh_token))

    @router.post("/sign-out", status_code=204, summary="Revoke the refresh token and its successors")
    async def sign_out(body: RefreshIn) -> Response:
        await sign_in.sign_out(body.refresh_token)
        return Response(status_code=204)

    return router
