"""Use cases of a member's preferences: read them, replace them (only channels this service has)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from civicgrid_runtime.auth.principal import Principal
from civicgrid_runtime.errors import InvalidInput


class PreferenceDocuments(Protocol):
    async def raw_preferences(self, member_id: str) -> dict[str, Any] | None: ...
    async def save_preferences(self, member_id: str, doc: dict[str, Any]) -> None: ...


@dataclass
class MemberPreferences:
    store: PreferenceDocuments
    configured: frozenset[str]
    """The channels this service can send on (a gateway is configured for each)."""

    async def get(self, principal: Principal, member_id: str) -> dict[str, Any]:
        principal.ensure_is_person_or_admin(member_id)
        doc = await self.store.raw_preferences(member_id) or {}
        doc.pop("_id", None)
        return doc

    async def replace(self, principal: Principal, member_id: str, doc: dict[str, Any]) -> None:
        """Refuses (422) channels with no gateway here: notices would silently go nowhere."""
        principal.ensure_is_person_or_admin(member_id)
        self.check_channels(doc)
        await self.store.save_preferences(member_id, doc)

    def check_channels(self, doc: Mapping[str, Any]) -> None:
        named: list[tuple[str, list[str]]] = [("channels", list(doc.get("channels") or []))]
        for category, pref in sorted((doc.get("categories") or {}).items()):
            named.append((f"categories.{category}.channels", list(pref.get("channels") or [])))
        for field, channels in named:
            missing = [c for c in channels if c not in self.configured]
            if missing:
                raise InvalidInput(
                    f"{field}: {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not configured "
                    f"on this service (configured channels: {', '.join(sorted(self.configured)) or 'none'})",
                    field=field,
                    configured=sorted(self.configured),
                )
