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

    async def place_updated(self, event: org.PlaceUpdated) -> None:
        if event.name is not None:
            await self._places.update_one({"_id": event.code}, {"$set": {"name": event.name}})

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
        # FerretDB's $pull takes exact values only: that is all this needs.
        await self._grids.update_one(
            {"_id": event.from_grid_id}, {"$pull": {"building_codes": event.building_code}}
        )
        await self._set_building_grid(event.building_code, event.to_grid_id, event.community_code)

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
