"""The ports a use case may use, handed in by ``bootstrap`` (or by a unit test with fakes)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from civicgrid_deliberation.service_layer.ports import (
    Ballots,
    CompoundRules,
    Directory,
    Fingerprint,
    Households,
    ProjectionStore,
    Rolls,
    UnitOfWork,
    Views,
)
from civicgrid_runtime.auth import Principal, Role
from civicgrid_runtime.errors import PermissionDenied


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    uow: UnitOfWork
    directory: Directory
    households: Households
    rolls: Rolls
    ballots: Ballots
    rules: CompoundRules
    views: Views
    projections: ProjectionStore
    clock: Callable[[], datetime] = field(default=_now)


def new_id(prefix: str, principal: Principal | None = None, key: str | None = None) -> str:
    """A fresh id, or, with an ``Idempotency-Key``, the same id for the same caller and key."""
    if key is None:
        return f"{prefix}-{uuid.uuid4().hex[:20]}"
    digest = hashlib.sha256(f"{principal.subject if principal else ''}\n{key}".encode()).hexdigest()
    return f"{prefix}-{digest[:20]}"


def fingerprint(key: str | None, body: Any) -> Fingerprint | None:
    if key is None:
        return None
    text = json.dumps(body, sort_keys=True, default=str)
    return Fingerprint(key, hashlib.sha256(text.encode()).hexdigest())


def person_of(principal: Principal) -> str:
    """The person behind a member's token (a coordinator acting for themself has one too)."""
    if principal.person_id is None:
        raise PermissionDenied("this action is a person's own: the token names no person")
    return principal.person_id


def ensure_coordinator(principal: Principal, place_code: str) -> None:
    if not principal.has_role(Role.ADMIN, Role.COORDINATOR):
        raise PermissionDenied("only a coordinator of this place may do this")
    principal.ensure_can_manage(place_code[:12])
