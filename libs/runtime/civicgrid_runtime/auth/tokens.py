"""JWT (EdDSA) minting for development and verification everywhere."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt

from civicgrid_runtime.auth.keys import ensure_dev_keys
from civicgrid_runtime.auth.principal import Principal, Role
from civicgrid_runtime.regions import normalise_region_code

ALGORITHM = "EdDSA"


class TokenError(Exception):
    """The bearer token is missing, malformed, expired or not ours."""


class TokenVerifier:
    def __init__(self, public_key_pem: bytes, issuer: str, audience: str) -> None:
        self._key = public_key_pem
        self._issuer = issuer
        self._audience = audience

    def verify(self, token: str) -> Principal:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                audience=self._audience,
                options={"require": ["exp", "sub", "roles"]},
            )
        except jwt.PyJWTError as error:
            raise TokenError(str(error)) from None
        try:
            roles = frozenset(Role(r) for r in claims["roles"])
        except (ValueError, TypeError):
            raise TokenError(f"unknown role in {claims.get('roles')!r}") from None
        region = claims.get("region")
        if Role.COORDINATOR in roles and not region:
            raise TokenError("a coordinator token must carry a region")
        if Role.MEMBER in roles and not claims.get("person_id"):
            raise TokenError("a member token must carry a person_id")
        return Principal(
            subject=str(claims["sub"]),
            roles=roles,
            region_code=normalise_region_code(region) if region else None,
            person_id=claims.get("person_id"),
            token_id=claims.get("jti"),
        )


class TokenIssuer:
    """Development only: signs tokens with the locally generated private key."""

    def __init__(self, keys_dir: Path, issuer: str, audience: str) -> None:
        private_path, _ = ensure_dev_keys(keys_dir)
        self._key = private_path.read_bytes()
        self._issuer = issuer
        self._audience = audience

    def mint(
        self,
        subject: str,
        roles: list[Role],
        *,
        region: str | None = None,
        person_id: str | None = None,
        ttl: timedelta = timedelta(hours=12),
    ) -> str:
        now = datetime.now(UTC)
        claims: dict[str, Any] = {
            "sub": subject,
            "roles": [r.value for r in roles],
            "iss": self._issuer,
            "aud": self._audience,
            "iat": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
        }
        if region:
            claims["region"] = normalise_region_code(region)
        if person_id:
            claims["person_id"] = person_id
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)
