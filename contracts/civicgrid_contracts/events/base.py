"""The base of every event payload."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from civicgrid_contracts.values import CommunityCode

EVENT_TYPE_PATTERN = r"^cn\.civicgrid\.[a-z0-9_.]+\.v[0-9]+$"


class EventPayload(BaseModel):
    """The ``data`` of a CloudEvent. Subclasses set ``event_type``, a past-tense fact with a version.

    Unknown fields are ignored (``extra="ignore"``), so a consumer built against an older minor
    revision of a type keeps working when a producer adds an optional field. Payloads are frozen:
    an event is a fact that has happened.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str]

    community_code: CommunityCode = Field(
        description="The community (or village) the fact belongs to; the Kafka partition key."
    )

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        event_type = cls.__dict__.get("event_type")
        if not isinstance(event_type, str) or re.fullmatch(EVENT_TYPE_PATTERN, event_type) is None:
            raise TypeError(f"{cls.__name__}.event_type must be a str matching {EVENT_TYPE_PATTERN}")


def same_community(community_code: str, grid_id: str | None, field: str) -> None:
    """Check that a grid id lies in the payload's community (its first 12 digits)."""
    if grid_id is not None and not grid_id.startswith(community_code):
        raise ValueError(f"{field} must start with the community code (a grid belongs to one community)")
