"""Member access tokens, signed with the runtime's token issuing, and the phone-hash key."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from civicgrid_runtime.auth import Role, TokenIssuer

PHONE_KEY_NAME = "phone_hash.key"


class RuntimeTokenMinter:
    def __init__(self, issuer: TokenIssuer) -> None:
        self._issuer = issuer

    def member_token(self, person_id: str, ttl_seconds: int) -> str:
        return self._issuer.mint(
            person_id, [Role.MEMBER], person_id=person_id, ttl=timedelta(seconds=ttl_seconds)
        )


def load_or_create_phone_key(keys_dir: Path, create: bool) -> bytes | None:
    """The secret that keys phone hashes (32 random bytes); created in development if missing."""
    path = keys_dir / PHONE_KEY_NAME
    if not path.exists():
        if not create:
            return None
        keys_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(secrets.token_bytes(32))
        os.chmod(tmp, 0o600)
        tmp.replace(path)
    return path.read_bytes()
