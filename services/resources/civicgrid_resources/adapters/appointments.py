"""What resources learnt of org-graph's memberships: one small document per membership id
(``appointments``), read and written by ``_id`` only (FerretDB reads whole collections otherwise)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from pymongo.asynchronous.collection import AsyncCollection

from civicgrid_resources.adapters.documents import Document
from civicgrid_resources.adapters.locks import upsert_fields
from civicgrid_resources.domain.appointments import Appointment

_FIELDS = ("person_id", "community_code", "grid_id", "post", "start", "end")


def _day(value: object) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else None


def appointment_from(doc: Document | None, membership_id: str) -> Appointment:
    if doc is None:
        return Appointment(membership_id)
    return Appointment(
        membership_id,
        person_id=doc.get("person_id"),
        community_code=doc.get("community_code"),
        grid_id=doc.get("grid_id"),
        post=doc.get("post"),
        start=_day(doc.get("start")),
        end=_day(doc.get("end")),
    )


def appointment_fields(a: Appointment) -> Document:
    values = {
        "person_id": a.person_id,
        "community_code": a.community_code,
        "grid_id": a.grid_id,
        "post": a.post,
        "start": a.start.isoformat() if a.start else None,
        "end": a.end.isoformat() if a.end else None,
    }
    return {name: values[name] for name in _FIELDS}


class MongoAppointments:
    def __init__(self, collection: AsyncCollection[Document], people: AsyncCollection[Document]) -> None:
        self.collection = collection
        self.people = people  # org-graph's people: display names only (never a phone)

    async def remember_name(self, person_id: str, display_name: str) -> None:
        await upsert_fields(self.people, person_id, {"display_name": display_name})

    async def name_of(self, person_id: str) -> str | None:
        doc = await self.people.find_one({"_id": person_id})
        name = doc.get("display_name") if doc else None
        return name if isinstance(name, str) else None

    async def record(self, membership_id: str, learn: Callable[[Appointment], Appointment]) -> Appointment:
        known = appointment_from(await self.collection.find_one({"_id": membership_id}), membership_id)
        learnt = learn(known)
        if learnt != known:
            await upsert_fields(self.collection, membership_id, appointment_fields(learnt))
        return learnt
