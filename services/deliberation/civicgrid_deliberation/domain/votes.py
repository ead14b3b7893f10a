"""Owners' votes (业主共同决定): opened on a roll frozen from the household projection, ballots per
household or per owner, closed with the double-majority decision and its arithmetic."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from civicgrid_deliberation.domain import events as ev
from civicgrid_deliberation.domain.voting import AssemblyRules, Decision, Voter, matter, owners_on
from civicgrid_runtime.errors import IllegalTransition, InvalidInput, PermissionDenied, RuleViolation


class VoteStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass
class Vote:
    vote_id: str
    community_code: str
    compound_code: str
    title: str
    matter_code: str
    rules: AssemblyRules
    opened_by: str
    opened_at: datetime
    closes_at: datetime
    eligible_voters: int
    topic_id: str | None = None
    request_id: str | None = None
    need_id: str | None = None
    status: VoteStatus = VoteStatus.OPEN
    decision: dict[str, Any] | None = None
    resolution_id: str | None = None
    version: int = 0
    events: list[ev.DomainEvent] = field(default_factory=list)

    @classmethod
    def open(
        cls,
        vote_id: str,
        compound_code: str,
        title: str,
        matter_code: str,
        rules: AssemblyRules,
        opened_by: str,
        opened_at: datetime,
        closes_at: datetime,
        roll: dict[str, Voter],
        topic_id: str | None = None,
        request_id: str | None = None,
        need_id: str | None = None,
    ) -> Vote:
        subject = matter(matter_code)
        if closes_at <= opened_at:
            raise InvalidInput("a vote closes after it opens", field="closes_at")
        if not roll:
            raise RuleViolation(
                "vote_needs_roll",
                f"no household of {compound_code} is known yet: the roll would be empty",
                field="compound_code",
            )
        vote = cls(
            vote_id,
            compound_code[:12],
            compound_code,
            title,
            subject.code,
            rules,
            opened_by,
            opened_at,
            closes_at,
            len(roll),
            topic_id,
            request_id,
            need_id,
        )
        vote.events.append(
            ev.VoteOpened(
                community_code=vote.community_code,
                vote_id=vote_id,
                compound_code=compound_code,
                topic_id=topic_id,
                title=title,
                matter=subject.code,
                major=subject.major,
                vote_basis=rules.vote_basis.value,
                eligible_voters=len(roll),
                closes_at=closes_at,
                owner_person_ids=owners_on(roll),
            )
        )
        return vote

    def ensure_accepts_ballots(self, now: datetime) -> None:
        if self.status is not VoteStatus.OPEN:
            raise IllegalTransition(self.status.value, "cast_ballot", [])
        if now >= self.closes_at:
            raise RuleViolation("vote_closed", "voting time is over", field="closes_at")

    def close(self, decision: Decision, resolution_id: str, roll: dict[str, Voter]) -> None:
        """Close on ``decision`` (tallied on ``roll``, the roll frozen when the vote opened)."""
        if self.status is not VoteStatus.OPEN:
            raise IllegalTransition(self.status.value, VoteStatus.CLOSED.value, [])
        self.status = VoteStatus.CLOSED
        self.decision = decision.to_data()
        self.resolution_id = resolution_id
        self.events.append(
            ev.VoteClosed(
                community_code=self.community_code,
                vote_id=self.vote_id,
                compound_code=self.compound_code,
                outcome=decision.outcome.value,
                silent_counted_as=decision.silent_counted_as.value if decision.silent_counted_as else None,
                measures=[m.to_data() for m in decision.measures],
                owner_person_ids=owners_on(roll),
            )
        )
        if decision.adopted:
            self.events.append(
                ev.ResolutionAdopted(
                    community_code=self.community_code,
                    resolution_id=resolution_id,
                    place_code=self.compound_code,
                    compound_code=self.compound_code,
                    title=self.title,
                    summary=f"adopted by the owners of {self.compound_code} ({self.matter_code})",
                    vote_id=self.vote_id,
                    topic_id=self.topic_id,
                    request_id=self.request_id,
                    need_id=self.need_id,
                )
            )
        else:
            self.events.append(
                ev.ResolutionRejected(
                    community_code=self.community_code,
                    resolution_id=resolution_id,
                    place_code=self.compound_code,
                    title=self.title,
                    outcome=decision.outcome.value,
                    vote_id=self.vote_id,
                    topic_id=self.topic_id,
                )
            )

    def take_events(self) -> list[ev.DomainEvent]:
        taken, self.events = self.events, []
        return taken


def ballot_voter(roll: dict[str, Voter], person_id: str, voter_id: str | None) -> str:
    """The vote ``person_id`` may cast: ``voter_id`` (a household code, or their own person id) if
    they are among its casters; without ``voter_id``, their only one."""
    if voter_id is not None:
        voter = roll.get(voter_id)
        if voter is None:
            raise InvalidInput(f"{voter_id} is not on this vote's roll", field="voter_id")
        if person_id not in voter.casters:
            raise PermissionDenied(f"only an owner of {voter_id} casts its vote")
        return voter_id
    mine = [v.voter_id for v in roll.values() if person_id in v.casters]
    if not mine:
        raise PermissionDenied("the caller is not an owner on this vote's roll")
    if len(mine) > 1:
        raise InvalidInput(
            f"the caller casts {len(mine)} votes here; name the household in voter_id", field="voter_id"
        )
    return mine[0]
