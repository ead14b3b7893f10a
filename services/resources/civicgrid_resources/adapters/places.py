"""The local projection of org-graph's places: communities, buildings and grids (building → grid).

Built from ``civicgrid.org.places.v1``. Each update only sets values, so applying an event twice
changes nothing; the consumer also remembers event ids (MongoInbox) and skips repeats.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from civicgrid_contracts.events import org
from civicgrid_contracts.events.base import EventPayload
from civicgrid_resources.adapters.documents import Document
from civicgrid_resources.adapters.mongo import MongoStore
from civicgrid_resources.service_layer.ports import BuildingInfo, GridInfo

COMMUNITY_KINDS = (org.PlaceKind.COMMUNITY.value, org.PlaceKind.VILLAGE.value)


def _grid_attribute(attributes: dict[str, Any], community_code: str) -> str | None:
    """A place's ``grid_id`` attribute, if it names a grid of the place's community."""
    value = attributes.get("grid_id")
    if isinstance(value, str) and len(value) == 15 and value.isdigit() and value.startswith(community_code):
        return value
    return None


def _grid_info(doc: Document) -> GridInfo:
    return GridInfo(doc["_id"], doc["community_code"], doc.get("name"), tuple(doc.get("building_codes", [])))


class PlaceDirectory:
    def __init__(self, store: MongoStore) -> None:
        self._places = store.places
        self._grids = store.grids
        # Routing as data: which org-graph fact changes the projection how.
        self._apply: dict[type[EventPayload], Callable[[Any], Awaitable[None]]] = {
            org.PlaceRegistered: self.place_registered,
            org.PlaceUpdated: self.place_updated,
            org.PlaceDissolved: self.place_dissolved,
            org.GridDefined: self.grid_defined,
            org.GridUpdated: self.grid_updated,
            org.GridDissolved: self.grid_dissolved,
            org.GridBuildingMoved: self.grid_building_moved,
            org.GridBuildingAssigned: self.grid_building_assigned,
        }

    async def apply(self, payload: EventPayload) -> None:
        await self._apply[type(payload)](payload)

    # -- queries ---------------------------------------------------------------------------------

    # Lookups filter by ``_id`` alone and check the rest here: FerretDB 1.24 serves an ``_id``-only
    # filter from its primary key, but scans the collection when another condition is added.

    async def community_known(self, code: str) -> bool:
        doc = await self._places.find_one({"_id": code}, {"kind": 1, "dissolved": 1})
        return doc is not None and doc.get("kind") in COMMUNITY_KINDS and not doc.get("dissolved")

    async def grid(self, grid_id: str) -> GridInfo | None:
        doc = await self._grids.find_one({"_id": grid_id})
        return None if doc is None or doc.get("dissolved") else _grid_info(doc)

    async def building(self, code: str) -> BuildingInfo | None:
        doc = await self._places.find_one({"_id": code})
        if doc is None or doc.get("kind") != org.PlaceKind.BUILDING.value or doc.get("dissolved"):
            return None
        return BuildingInfo(code, doc.get("community_code"), doc.get("grid_id"))

    async def grids_of(self, community_code: str) -> list[GridInfo]:
        cursor = self._grids.find({"community_code": community_code}).sort("_id", 1)
        return [_grid_info(doc) async for doc in cursor if not doc.get("dissolved")]

    # -- applying org-graph events ------------------------------------------------------------------

    async def place_registered(self, event: org.PlaceRegistered) -> None:
        await self._places.update_one(
            {"_id": event.code},
            {
                "$set": {
                    "kind": event.kind.value,
                    "name": event.name,
                    "parent_code": event.parent_code,
                    "community_code": event.community_code,
                    "updated_at": datetime.now(UTC),
                }
            },
            upsert=True,
        )
        grid_id = _grid_attribute(event.attributes, event.community_code)
        if event.kind is org.PlaceKind.BUILDING and grid_id is not None:
            await self._move_building(event.code, grid_id, event.community_code)

    async def place_updated(self, event: org.PlaceUpdated) -> None:
        """A new name; for a building, ``attributes.grid_id`` is the grid it now belongs to (org-graph
        publishes a building's *first* grid this way; a null removes it from its grid)."""
        if event.name is not None:
            await self._places.update_one({"_id": event.code}, {"$set": {"name": event.name}})
        if "grid_id" not in event.attributes:
            return
        grid_id = _grid_attribute(event.attributes, event.community_code)
        if grid_id is not None:
            await self._move_building(event.code, grid_id, event.community_code)
        elif event.attributes["grid_id"] is None:
            await self._leave_grid(event.code)

    async def place_dissolved(self, event: org.PlaceDissolved) -> None:
        await self._places.update_one({"_id": event.code}, {"$set": {"dissolved": True}})

    async def grid_defined(self, event: org.GridDefined) -> None:
        await self._grids.update_one(
            {"_id": event.grid_id},
            {
                "$set": {
                    "community_code": event.community_code,
                    "name": event.name,
                    "building_codes": list(event.building_codes),
                }
            },
            upsert=True,
        )
        for code in event.building_codes:
            await self._set_building_grid(code, event.grid_id, event.community_code)

    async def grid_updated(self, event: org.GridUpdated) -> None:
        if event.name is not None:
            await self._grids.update_one({"_id": event.grid_id}, {"$set": {"name": event.name}})

    async def grid_dissolved(self, event: org.GridDissolved) -> None:
        await self._grids.update_one({"_id": event.grid_id}, {"$set": {"dissolved": True}})

    async def grid_building_moved(self, event: org.GridBuildingMoved) -> None:
        # ``from_grid_id`` may be absent (a building's first grid): the projection's own view decides.
        from_grid_id: str | None = getattr(event, "from_grid_id", None)
        await self._move_building(event.building_code, event.to_grid_id, event.community_code, from_grid_id)

    async def grid_building_assigned(self, event: org.GridBuildingAssigned) -> None:
        """org-graph's one fact for every change of a building's grid (first grid, move, import);
        the older facts it accompanies set the same values, so either order ends the same."""
        await self._move_building(
            event.building_code, event.grid_id, event.community_code, event.previous_grid_id
        )

    async def _move_building(
        self, code: str, grid_id: str, community_code: str, from_grid_id: str | None = None
    ) -> None:
        current = await self._places.find_one({"_id": code}, {"grid_id": 1}) or {}
        for previous in {from_grid_id, current.get("grid_id")} - {None, grid_id}:
            # FerretDB's $pull takes exact values only: that is all this needs.
            await self._grids.update_one({"_id": previous}, {"$pull": {"building_codes": code}})
        await self._set_building_grid(code, grid_id, community_code)

    async def _leave_grid(self, code: str) -> None:
        current = await self._places.find_one({"_id": code}, {"grid_id": 1}) or {}
        if current.get("grid_id"):
            await self._grids.update_one({"_id": current["grid_id"]}, {"$pull": {"building_codes": code}})
            await self._places.update_one({"_id": code}, {"$set": {"grid_id": None}})

    async def _set_building_grid(self, code: str, grid_id: str, community_code: str) -> None:
        await self._grids.update_one({"_id": grid_id}, {"$addToSet": {"building_codes": code}})
        await self._places.update_one(
            {"_id": code},
            {
                "$set": {"grid_id": grid_id, "community_code": community_code},
                "$setOnInsert": {"kind": org.PlaceKind.BUILDING.value},
            },
            upsert=True,
        )
