"""Topics (议题): raised by residents, by representatives or from a resources request or need; supported
by owners until the 5 % motion puts them on the owners' assembly agenda."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from civicgrid_deliberation.domain import events as ev
from civicgrid_deliberation.domain.forums import compound_of
from civicgrid_deliberation.domain.voting import MotionStatus, as_number
from civicgrid_runtime.errors import IllegalTransition, InvalidInput


class RaisedAs(StrEnum):
    RESIDENT = "resident"
    REPRESENTATIVE = "representative"
    COORDINATOR = "coordinator"
    REQUEST = "request"
    """Linked to a residents' request or a need in resources (by id)."""


class TopicStatus(StrEnum):
    RAISED = "raised"
    ON_AGENDA = "on_agenda"
    DECIDED = "decided"
    WITHDRAWN = "withdrawn"


@dataclass
class Topic:
    topic_id: str
    community_code: str
    place_code: str
    title: str
    description: str
    raised_by: str
    raised_as: RaisedAs
    request_id: str | None = None
    need_id: str | None = None
    status: TopicStatus = TopicStatus.RAISED
    supporters: list[str] = field(default_factory=list)
    """Voter ids (household codes or owners' person ids, as the compound's rules count them)."""
    motion: dict[str, object] | None = None
    """The arithmetic of the 5 % motion when it was reached."""
    version: int = 0
    events: list[ev.DomainEvent] = field(default_factory=list)

    @property
    def compound_code(self) -> str | None:
        return compound_of(self.place_code)

    @classmethod
    def raise_(
        cls,
        topic_id: str,
        place_code: str,
        title: str,
        description: str,
        raised_by: str,
        raised_as: RaisedAs,
        request_id: str | None = None,
        need_id: str | None = None,
    ) -> Topic:
        if raised_as is RaisedAs.REQUEST and not (request_id or need_id):
            raise InvalidInput("a topic from resources names its request_id or need_id", field="request_id")
        topic = cls(
            topic_id,
            place_code[:12],
            place_code,
            title,
            description,
            raised_by,
            raised_as,
            request_id,
            need_id,
        )
        topic.events.append(
            ev.TopicRaised(
                community_code=topic.community_code,
                topic_id=topic_id,
                place_code=place_code,
                compound_code=topic.compound_code,
                title=title,
                raised_as=raised_as.value,
                request_id=request_id,
                need_id=need_id,
            )
        )
        return topic

    def support(self, voter_id: str) -> bool:
        """Add a supporter; False when they already support it (supporting twice counts once)."""
        if self.status not in (TopicStatus.RAISED, TopicStatus.ON_AGENDA):
            raise IllegalTransition(self.status.value, "support", [])
        if voter_id in self.supporters:
            return False
        self.supporters.append(voter_id)
        return True

    def check_motion(self, status: MotionStatus) -> bool:
        """Put the topic on the agenda when the motion is reached; True the first time it is."""
        if self.status is not TopicStatus.RAISED or not status.reached:
            return False
        compound = self.compound_code
        if compound is None:
            return False
        self.status = TopicStatus.ON_AGENDA
        self.motion = status.to_data()
        self.events.append(
            ev.TopicMotionReached(
                community_code=self.community_code,
                topic_id=self.topic_id,
                compound_code=compound,
                basis=status.measure.name,
                supporters=status.supporters.heads,
                eligible=status.eligible.heads,
                supporter_area_m2=float(as_number(status.supporters.area)),
                eligible_area_m2=float(as_number(status.eligible.area)),
                threshold=status.measure.threshold.describe(),
            )
        )
        return True

    def decided(self) -> None:
        if self.status in (TopicStatus.RAISED, TopicStatus.ON_AGENDA):
            self.status = TopicStatus.DECIDED

    def take_events(self) -> list[ev.DomainEvent]:
        taken, self.events = self.events, []
        return taken
