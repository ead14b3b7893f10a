"""Owners' assembly arithmetic: the Civil Code's double majority, the silent-majority rule, the 5 % motion.

Civil Code art. 278: owners holding ≥ 2/3 of the exclusive area AND ≥ 2/3 of the owners take part;
a matter passes with the consent of > 1/2 (items 6–8, the "major" matters: ≥ 3/4) of the PARTICIPATING
area AND of the PARTICIPATING owners. "以上" includes the bound (≥), "过半数" does not (>).

Everything is exact: areas are whole hundredths of a square metre (the projection's two decimals) and
shares are ``Fraction``s, so a tie is a tie and 2/3 is 2/3. The rules are data (``AssemblyRules``);
every decision carries its arithmetic (``Measure``: numerator, denominator, threshold, the rule).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import Any

from civicgrid_runtime.errors import InvalidInput


class VoteBasis(StrEnum):
    """Who holds a vote (the compound's rules say which)."""

    PER_HOUSEHOLD = "per_household"
    """One vote per exclusive unit (household); its co-owners cast it together (一个专有部分按一人计算)."""
    PER_OWNER = "per_owner"
    """One vote per owner: an owner of several units counts once, with their areas; co-owners share
    a unit's area equally."""


class MotionBasis(StrEnum):
    """How the 5 % motion is measured (the compound's rules say which)."""

    HEADCOUNT = "headcount"
    AREA = "area"


class Choice(StrEnum):
    APPROVE = "approve"
    OPPOSE = "oppose"
    ABSTAIN = "abstain"


class Outcome(StrEnum):
    ADOPTED = "adopted"
    REJECTED = "rejected"
    NOT_QUORATE = "not_quorate"
    """Too few took part: nothing was decided."""


@dataclass(frozen=True)
class Threshold:
    """``share`` of a whole; ``strict``: more than (过半数), else at least (以上)."""

    share: Fraction
    strict: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.share <= 1:
            raise InvalidInput("a threshold share lies between 0 and 1", field="share")

    def met(self, numerator: Fraction, denominator: Fraction) -> bool:
        if denominator <= 0:
            return False
        ratio = Fraction(numerator) / Fraction(denominator)
        return ratio > self.share if self.strict else ratio >= self.share

    def describe(self) -> str:
        return f"{'>' if self.strict else '≥'} {self.share}"

    def to_data(self) -> dict[str, Any]:
        return {"share": str(self.share), "strict": self.strict}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Threshold:
        return cls(Fraction(str(data["share"])), bool(data.get("strict", False)))


@dataclass(frozen=True)
class Matter:
    """A kind of matter the owners decide (Civil Code art. 278, items 1–9)."""

    code: str
    label: str
    major: bool
    """Items 6–8 (raising the maintenance fund, rebuilding, changing common parts' use): ≥ 3/4."""


MATTERS: dict[str, Matter] = {
    m.code: m
    for m in (
        Matter("assembly_rules", "Make or amend the owners' assembly rules of procedure (1)", False),
        Matter("management_covenant", "Make or amend the management covenant (2)", False),
        Matter("owners_committee", "Elect or replace the owners' committee (3)", False),
        Matter("property_manager", "Hire or dismiss the property company or other manager (4)", False),
        Matter("use_maintenance_fund", "Use the building maintenance fund (5)", False),
        Matter("raise_maintenance_fund", "Raise the building maintenance fund (6)", True),
        Matter("rebuild", "Alter or rebuild buildings and their facilities (7)", True),
        Matter("common_parts_use", "Change the use of common parts or run a business on them (8)", True),
        Matter("other", "Other major matters of common ownership and management (9)", False),
    )
}


def matter(code: str) -> Matter:
    try:
        return MATTERS[code]
    except KeyError:
        raise InvalidInput(f"unknown matter {code!r}; known: {', '.join(MATTERS)}", field="matter") from None


CIVIL_CODE = "civil_code_art_278"


@dataclass(frozen=True)
class AssemblyRules:
    """A compound's voting rules, as data. The defaults are the Civil Code's."""

    vote_basis: VoteBasis = VoteBasis.PER_HOUSEHOLD
    participation: Threshold = Threshold(Fraction(2, 3))
    ordinary_approval: Threshold = Threshold(Fraction(1, 2), strict=True)
    major_approval: Threshold = Threshold(Fraction(3, 4))
    silent_majority: bool = False
    """沉默从众: adopted by this compound's assembly rules; off unless adopted."""
    motion_share: Threshold = Threshold(Fraction(5, 100))
    motion_basis: MotionBasis = MotionBasis.HEADCOUNT
    name: str = CIVIL_CODE

    def approval_for(self, subject: Matter) -> Threshold:
        return self.major_approval if subject.major else self.ordinary_approval

    def to_data(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "vote_basis": self.vote_basis.value,
            "participation": self.participation.to_data(),
            "ordinary_approval": self.ordinary_approval.to_data(),
            "major_approval": self.major_approval.to_data(),
            "silent_majority": self.silent_majority,
            "motion_share": self.motion_share.to_data(),
            "motion_basis": self.motion_basis.value,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> AssemblyRules:
        default = cls()
        return cls(
            vote_basis=VoteBasis(data.get("vote_basis", default.vote_basis)),
            participation=_threshold(data, "participation", default.participation),
            ordinary_approval=_threshold(data, "ordinary_approval", default.ordinary_approval),
            major_approval=_threshold(data, "major_approval", default.major_approval),
            silent_majority=bool(data.get("silent_majority", False)),
            motion_share=_threshold(data, "motion_share", default.motion_share),
            motion_basis=MotionBasis(data.get("motion_basis", default.motion_basis)),
            name=str(data.get("name", default.name)),
        )


def _threshold(data: Mapping[str, Any], key: str, default: Threshold) -> Threshold:
    value = data.get(key)
    return default if value is None else Threshold.from_data(value)


# --- the roll -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """An exclusive unit (household) on the roll: its area in hundredths of a m², its owners' ids."""

    household_code: str
    area_hundredths: int
    owners: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.area_hundredths < 0:
            raise InvalidInput("exclusive area cannot be negative", field="exclusive_area_m2")

    @property
    def area(self) -> Fraction:
        return Fraction(self.area_hundredths, 100)


def area_hundredths(area_m2: float) -> int:
    """The projection's two-decimal area as an exact integer of hundredths."""
    return round(area_m2 * 100)


@dataclass(frozen=True)
class Voter:
    voter_id: str
    area: Fraction
    households: tuple[str, ...]
    casters: tuple[str, ...] = ()
    """Person ids who may cast this vote (a household's owners; an owner themself)."""


def voters_of(units: Iterable[Unit], basis: VoteBasis) -> dict[str, Voter]:
    """Who holds a vote, with which area. A unit with no registered owner counts as one owner (the
    owner of record, e.g. the developer for an unsold unit) whose vote is the unit's own."""
    if basis is VoteBasis.PER_HOUSEHOLD:
        return {
            u.household_code: Voter(
                u.household_code, u.area, (u.household_code,), tuple(dict.fromkeys(u.owners))
            )
            for u in units
        }
    areas: dict[str, Fraction] = {}
    households: dict[str, list[str]] = {}
    unowned: set[str] = set()
    for unit in units:
        owners = unit.owners or (unit.household_code,)
        if not unit.owners:
            unowned.add(unit.household_code)
        share = unit.area / len(owners)
        for owner in dict.fromkeys(owners):
            areas[owner] = areas.get(owner, Fraction(0)) + share * owners.count(owner)
            households.setdefault(owner, []).append(unit.household_code)
    return {v: Voter(v, areas[v], tuple(households[v]), () if v in unowned else (v,)) for v in areas}


def owners_on(roll: Mapping[str, Voter]) -> list[str]:
    """The persons who may cast a vote on ``roll`` (sorted, each once): the vote's facts name them, so
    the services that tell owners need not wait for the compound's households to reach them."""
    return sorted({person for voter in roll.values() for person in voter.casters})


# --- decisions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """One comparison of a decision: ``numerator / denominator`` against ``threshold``."""

    name: str
    numerator: Fraction
    denominator: Fraction
    threshold: Threshold
    met: bool
    rule: str

    def to_data(self) -> dict[str, Any]:
        ratio = self.numerator / self.denominator if self.denominator else Fraction(0)
        return {
            "name": self.name,
            "numerator": as_number(self.numerator),
            "denominator": as_number(self.denominator),
            "ratio": as_number(ratio, 6),
            "ratio_exact": str(ratio),
            "threshold": self.threshold.describe(),
            "met": self.met,
            "rule": self.rule,
        }


def as_number(value: Fraction, places: int = 4) -> float | int:
    if value.denominator == 1:
        return int(value)
    return round(float(value), places)


def measure(
    name: str, numerator: Fraction, denominator: Fraction, threshold: Threshold, rule: str
) -> Measure:
    return Measure(name, numerator, denominator, threshold, threshold.met(numerator, denominator), rule)


@dataclass(frozen=True)
class Side:
    heads: int = 0
    area: Fraction = Fraction(0)

    def plus(self, heads: int, area: Fraction) -> Side:
        return Side(self.heads + heads, self.area + area)

    def to_data(self) -> dict[str, Any]:
        return {"heads": self.heads, "area_m2": as_number(self.area)}


@dataclass(frozen=True)
class Decision:
    """An owners' assembly decision with all of its arithmetic."""

    outcome: Outcome
    matter: str
    major: bool
    rules: AssemblyRules
    eligible: Side
    approve: Side
    oppose: Side
    abstain: Side
    silent: Side
    silent_counted_as: Choice | None
    participating: Side
    measures: tuple[Measure, ...]
    ignored_ballots: int = 0
    """Ballots of voters not on the roll (never counted)."""

    @property
    def adopted(self) -> bool:
        return self.outcome is Outcome.ADOPTED

    def to_data(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "matter": self.matter,
            "major": self.major,
            "rules": self.rules.to_data(),
            "eligible": self.eligible.to_data(),
            "approve": self.approve.to_data(),
            "oppose": self.oppose.to_data(),
            "abstain": self.abstain.to_data(),
            "silent": self.silent.to_data(),
            "silent_counted_as": self.silent_counted_as.value if self.silent_counted_as else None,
            "participating": self.participating.to_data(),
            "measures": [m.to_data() for m in self.measures],
            "ignored_ballots": self.ignored_ballots,
        }


def _silent_side(approve: Side, oppose: Side) -> Choice | None:
    """The side silent owners follow: the one ahead among the votes cast by BOTH heads and area;
    none when the two measures disagree or either is tied (then silent owners stay silent)."""
    if approve.heads > oppose.heads and approve.area > oppose.area:
        return Choice.APPROVE
    if oppose.heads > approve.heads and oppose.area > approve.area:
        return Choice.OPPOSE
    return None


def tally(
    voters: Mapping[str, Voter],
    ballots: Mapping[str, Choice],
    subject: Matter,
    rules: AssemblyRules,
) -> Decision:
    """Decide ``subject`` from the ballots of the roll ``voters`` under ``rules``."""
    sides: dict[Choice, Side] = {c: Side() for c in Choice}
    ignored = 0
    for voter_id, choice in ballots.items():
        voter = voters.get(voter_id)
        if voter is None:
            ignored += 1
            continue
        sides[choice] = sides[choice].plus(1, voter.area)
    eligible = Side(len(voters), sum((v.area for v in voters.values()), Fraction(0)))
    cast = Side(sum(s.heads for s in sides.values()), sum((s.area for s in sides.values()), Fraction(0)))
    silent = Side(eligible.heads - cast.heads, eligible.area - cast.area)
    counted_as: Choice | None = None
    if rules.silent_majority and silent.heads > 0:
        counted_as = _silent_side(sides[Choice.APPROVE], sides[Choice.OPPOSE])
        if counted_as is not None:
            sides[counted_as] = sides[counted_as].plus(silent.heads, silent.area)
    participating = cast.plus(silent.heads, silent.area) if counted_as else cast
    rule = CIVIL_CODE if rules.name == CIVIL_CODE else rules.name
    silent_note = " (silent owners counted with the majority)" if counted_as else ""
    participation = (
        measure(
            "participation_area",
            participating.area,
            eligible.area,
            rules.participation,
            f"{rule}: participating exclusive area of all{silent_note}",
        ),
        measure(
            "participation_owners",
            Fraction(participating.heads),
            Fraction(eligible.heads),
            rules.participation,
            f"{rule}: participating owners of all{silent_note}",
        ),
    )
    approval_threshold = rules.approval_for(subject)
    kind = "major matter" if subject.major else "ordinary matter"
    approve = sides[Choice.APPROVE]
    approval = (
        measure(
            "approval_area",
            approve.area,
            participating.area,
            approval_threshold,
            f"{rule}: approving area of participating area ({kind})",
        ),
        measure(
            "approval_owners",
            Fraction(approve.heads),
            Fraction(participating.heads),
            approval_threshold,
            f"{rule}: approving owners of participating owners ({kind})",
        ),
    )
    if not all(m.met for m in participation):
        outcome = Outcome.NOT_QUORATE
    elif all(m.met for m in approval):
        outcome = Outcome.ADOPTED
    else:
        outcome = Outcome.REJECTED
    return Decision(
        outcome=outcome,
        matter=subject.code,
        major=subject.major,
        rules=rules,
        eligible=eligible,
        approve=approve,
        oppose=sides[Choice.OPPOSE],
        abstain=sides[Choice.ABSTAIN],
        silent=silent,
        silent_counted_as=counted_as,
        participating=participating,
        measures=participation + approval,
        ignored_ballots=ignored,
    )


# --- the 5 % motion -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MotionStatus:
    reached: bool
    supporters: Side
    eligible: Side
    measure: Measure
    unknown_supporters: int = 0

    def to_data(self) -> dict[str, Any]:
        return {
            "reached": self.reached,
            "supporters": self.supporters.to_data(),
            "eligible": self.eligible.to_data(),
            "measure": self.measure.to_data(),
            "unknown_supporters": self.unknown_supporters,
        }


def motion_status(
    voters: Mapping[str, Voter], supporters: Iterable[str], rules: AssemblyRules
) -> MotionStatus:
    """5%动议: a topic enters the owners' assembly agenda when its supporters hold at least the
    rules' share (5 %) of the owners by headcount, or of the exclusive area, as the rules say."""
    heads, area, unknown = 0, Fraction(0), 0
    for supporter in set(supporters):
        voter = voters.get(supporter)
        if voter is None:
            unknown += 1
            continue
        heads += 1
        area += voter.area
    support = Side(heads, area)
    eligible = Side(len(voters), sum((v.area for v in voters.values()), Fraction(0)))
    rule = f"5% motion by {rules.motion_basis.value}"
    if rules.motion_basis is MotionBasis.AREA:
        m = measure("motion_area", area, eligible.area, rules.motion_share, rule)
    else:
        m = measure("motion_owners", Fraction(heads), Fraction(eligible.heads), rules.motion_share, rule)
    return MotionStatus(m.met, support, eligible, m, unknown)


# --- meetings of members (representatives, villagers' groups...) ----------------------------------


@dataclass(frozen=True)
class MeetingRules:
    """A meeting of members: it may decide when ``quorum`` of its members attend; a resolution
    passes with ``approval`` of those attending (e.g. 村民代表会议: ≥ 2/3 attend, > 1/2 of them agree)."""

    quorum: Threshold = Threshold(Fraction(2, 3))
    approval: Threshold = Threshold(Fraction(1, 2), strict=True)
    name: str = "two_thirds_attend_majority_of_attending"

    def to_data(self) -> dict[str, Any]:
        return {"name": self.name, "quorum": self.quorum.to_data(), "approval": self.approval.to_data()}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> MeetingRules:
        return cls(
            Threshold.from_data(data["quorum"]), Threshold.from_data(data["approval"]), str(data["name"])
        )


@dataclass(frozen=True)
class MeetingDecision:
    outcome: Outcome
    approve: int
    oppose: int
    abstain: int
    measures: tuple[Measure, ...] = field(default_factory=tuple)

    @property
    def adopted(self) -> bool:
        return self.outcome is Outcome.ADOPTED

    def to_data(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "approve": self.approve,
            "oppose": self.oppose,
            "abstain": self.abstain,
            "measures": [m.to_data() for m in self.measures],
        }


def decide_meeting(
    members: int, attending: int, approve: int, oppose: int, abstain: int, rules: MeetingRules
) -> MeetingDecision:
    """A show of hands at a meeting: ``approve + oppose + abstain`` may not exceed ``attending``
    (those attending who did not raise a hand count as not approving)."""
    if min(members, attending, approve, oppose, abstain) < 0:
        raise InvalidInput("counts cannot be negative", field="votes")
    if attending > members:
        raise InvalidInput(f"{attending} attending but only {members} members", field="attending")
    if approve + oppose + abstain > attending:
        raise InvalidInput(
            f"{approve + oppose + abstain} hands but only {attending} attending", field="votes"
        )
    quorum = measure("attendance", Fraction(attending), Fraction(members), rules.quorum, rules.name)
    approval = measure("approval", Fraction(approve), Fraction(attending), rules.approval, rules.name)
    outcome = Outcome.NOT_QUORATE if not quorum.met else Outcome.ADOPTED if approval.met else Outcome.REJECTED
    return MeetingDecision(outcome, approve, oppose, abstain, (quorum, approval))
