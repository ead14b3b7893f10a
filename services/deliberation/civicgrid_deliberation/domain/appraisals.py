"""Democratic appraisal (民主评议) of committee members by representatives, with published results.

Each appraiser grades each member satisfied / basically satisfied / dissatisfied. A member is judged
incompetent (不称职) when more than half of the grades are "dissatisfied"; the satisfaction rate is
(satisfied + basically satisfied) / grades.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import Any

from civicgrid_deliberation.domain import events as ev
from civicgrid_deliberation.domain.voting import as_number
from civicgrid_runtime.errors import IllegalTransition, InvalidInput, PermissionDenied, RuleViolation


class Grade(StrEnum):
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"


class AppraisalStatus(StrEnum):
    OPEN = "open"
    PUBLISHED = "published"


@dataclass(frozen=True)
class MemberResult:
    person_id: str
    satisfied: int
    basically_satisfied: int
    dissatisfied: int

    @property
    def grades(self) -> int:
        return self.satisfied + self.basically_satisfied + self.dissatisfied

    @property
    def satisfaction(self) -> Fraction:
        return (
            Fraction(self.satisfied + self.basically_satisfied, self.grades) if self.grades else Fraction(0)
        )

    @property
    def verdict(self) -> str:
        return "incompetent" if 2 * self.dissatisfied > self.grades else "competent"

    def to_data(self) -> dict[str, Any]:
        return {
            "person_id": self.person_id,
            "satisfied": self.satisfied,
            "basically_satisfied": self.basically_satisfied,
            "dissatisfied": self.dissatisfied,
            "grades": self.grades,
            "satisfaction_rate": as_number(self.satisfaction, 4),
            "verdict": self.verdict,
        }


@dataclass
class Appraisal:
    appraisal_id: str
    community_code: str
    title: str
    subjects: list[str]
    appraisers: list[str]
    grades: dict[str, dict[str, Grade]] = field(default_factory=dict)
    status: AppraisalStatus = AppraisalStatus.OPEN
    results: list[dict[str, Any]] = field(default_factory=list)
    version: int = 0
    events: list[ev.DomainEvent] = field(default_factory=list)

    @classmethod
    def open(
        cls, appraisal_id: str, community_code: str, title: str, subjects: list[str], appraisers: list[str]
    ) -> Appraisal:
        if not subjects:
            raise RuleViolation(
                "appraisal_needs_members", "no committee member to appraise", field="subject_person_ids"
            )
        if not appraisers:
            raise RuleViolation(
                "appraisal_needs_representatives",
                "no representative to appraise",
                field="appraiser_person_ids",
            )
        return cls(appraisal_id, community_code, title, sorted(set(subjects)), sorted(set(appraisers)))

    def grade(self, appraiser: str, grades: dict[str, Grade]) -> None:
        """Record (or replace, while open) one appraiser's grades; every member must be graded."""
        if self.status is not AppraisalStatus.OPEN:
            raise IllegalTransition(self.status.value, "grade", [])
        if appraiser not in self.appraisers:
            raise PermissionDenied("only the representatives named for this appraisal grade in it")
        unknown = sorted(set(grades) - set(self.subjects))
        if unknown:
            raise InvalidInput(
                "grades name people who are not appraised here", field="grades", unknown=unknown
            )
        missing = sorted(set(self.subjects) - set(grades))
        if missing:
            raise InvalidInput("every member must be graded", field="grades", missing=missing)
        self.grades[appraiser] = dict(grades)

    def tally(self) -> list[MemberResult]:
        results = []
        for subject in self.subjects:
            given = [g[subject] for g in self.grades.values()]
            results.append(
                MemberResult(
                    subject,
                    given.count(Grade.SATISFIED),
                    given.count(Grade.BASICALLY_SATISFIED),
                    given.count(Grade.DISSATISFIED),
                )
            )
        return results

    def publish(self) -> list[MemberResult]:
        if self.status is not AppraisalStatus.OPEN:
            raise IllegalTransition(self.status.value, AppraisalStatus.PUBLISHED.value, [])
        if not self.grades:
            raise RuleViolation("appraisal_has_no_grades", "nobody has graded yet", field="grades")
        results = self.tally()
        self.status = AppraisalStatus.PUBLISHED
        self.results = [r.to_data() for r in results]
        self.events.append(
            ev.AppraisalPublished(
                community_code=self.community_code,
                appraisal_id=self.appraisal_id,
                title=self.title,
                appraisers=len(self.grades),
                results=self.results,
            )
        )
        return results

    def take_events(self) -> list[ev.DomainEvent]:
        taken, self.events = self.events, []
        return taken
