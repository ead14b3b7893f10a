"""Domain events: facts the service layer records; adapters translate them to contract events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DomainEvent:
    """``name`` is the fact (e.g. ``place.registered``); ``data`` its fields; ``subject`` what it is about."""

    name: str
    community_code: str
    subject: str
    data: dict[str, Any] = field(default_factory=dict)
