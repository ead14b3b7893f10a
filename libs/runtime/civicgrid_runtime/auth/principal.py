"""Who is calling, and what they may touch. Plain Python: checks are done on every object."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from civicgrid_runtime.errors import PermissionDenied
from civicgrid_runtime.regions import region_covers


class Role(StrEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    MEMBER = "member"
    INTEGRATION = "integration"


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[Role]
    region_code: str | None = None
    person_id: str | None = None
    token_id: str | None = None

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    def can_manage(self, code: str) -> bool:
        """May change things in the community/grid/building ``code``."""
        if Role.ADMIN in self.roles:
            return True
        if Role.COORDINATOR in self.roles and self.region_code:
            return region_covers(self.region_code, code)
        return False

    def ensure_can_manage(self, code: str) -> None:
        if not self.can_manage(code):
            raise PermissionDenied(f"{self.subject} may not act on {code}: outside the caller's region")

    def is_person(self, person_id: str) -> bool:
        return self.person_id is not None and self.person_id == person_id

    def ensure_is_person_or_admin(self, person_id: str) -> None:
        if Role.ADMIN in self.roles or self.is_person(person_id):
            return
        raise PermissionDenied("a member may only read their own data")
