"""Appointments to grid posts made in org-graph (网格长, 专职网格员 …), as resources takes them.

org-graph publishes a term as two facts: ``membership.started`` (person, post, organisation, the grid
for grid posts, first day) and ``membership.ended`` (the membership id and the last day only). They
may come in either order (a replay, a redriven dead letter), so resources keeps what it learnt of each
membership in an ``Appointment`` and acts on the merge: the grid worker's period in the grid and their
seat in the grid's team follow the term, whatever came first.

A grid post is recognised by the grid the membership carries: org-graph gives a ``grid_id`` to grid
posts and only to them (its rule ``grid_post_needs_grid``), so a new kind of grid post needs no
change here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date

from civicgrid_resources.domain.deployment import ResourceKind, Term

STREET_LEVEL_GRID_POSTS = frozenset({"grid_contact_leader"})
"""Township/street leaders linked directly to a grid (直接联系网格): they serve it as street leaders."""

_LETTERS = str.maketrans("0123456789", "ghijkmnpqr")


@dataclass(frozen=True)
class Appointment:
    """What resources knows of one org-graph membership, merged from its facts in any order."""

    membership_id: str
    person_id: str | None = None
    community_code: str | None = None
    grid_id: str | None = None
    post: str | None = None
    start: date | None = None
    end: date | None = None

    def started(
        self, person_id: str, community_code: str, grid_id: str | None, post: str, start: date
    ) -> Appointment:
        """The ``membership.started`` fact added (an end already known stays)."""
        return replace(
            self, person_id=person_id, community_code=community_code, grid_id=grid_id, post=post, start=start
        )

    def ended(self, end: date) -> Appointment:
        """The ``membership.ended`` fact added (what the start said stays)."""
        return replace(self, end=end)

    def grid_term(self) -> Term | None:
        """The term in a grid post, once its start is known; None for other posts or before that."""
        if (
            self.grid_id is None
            or self.person_id is None
            or self.community_code is None
            or self.post is None
            or self.start is None
        ):
            return None
        return Term(
            self.membership_id,
            self.person_id,
            self.community_code,
            self.grid_id,
            self.post,
            self.start,
            self.end,
        )


def resource_kind_for(post: str) -> ResourceKind:
    return ResourceKind.STREET_LEADER if post in STREET_LEVEL_GRID_POSTS else ResourceKind.COMMUNITY_WORKER


def appointee_resource_id(community_code: str, person_id: str) -> str:
    """One resource per appointed person and community, whatever number of grid posts they hold there
    (their points and grids stay together across terms). Letters only, like every generated id."""
    digest = hashlib.sha256(f"{community_code}:{person_id}".encode()).hexdigest()[:24]
    return f"res-appt-{digest.translate(_LETTERS)}"
