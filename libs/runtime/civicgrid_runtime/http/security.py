"""Bearer-token dependencies for FastAPI routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from civicgrid_runtime.auth.principal import Principal, Role
from civicgrid_runtime.auth.tokens import TokenError, TokenVerifier

_bearer = HTTPBearer(auto_error=False, description="A CivicGrid JWT")


class Authenticator:
    def __init__(self, verifier: TokenVerifier) -> None:
        self._verifier = verifier

    async def principal(
        self,
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ) -> Principal:
        if credentials is None:
            raise HTTPException(401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
        try:
            principal = self._verifier.verify(credentials.credentials)
        except TokenError as error:
            raise HTTPException(
                401, f"invalid token: {error}", headers={"WWW-Authenticate": "Bearer"}
            ) from None
        request.state.principal = principal
        return principal

    def require(self, *roles: Role) -> Callable[..., Awaitable[Principal]]:
        """A dependency that admits only principals holding one of ``roles``."""
        allowed = ", ".join(r.value for r in roles)

        async def dependency(principal: Principal = Depends(self.principal)) -> Principal:
            if not principal.has_role(*roles):
                raise HTTPException(403, f"this action needs one of the roles: {allowed}")
            return principal

        return dependency
