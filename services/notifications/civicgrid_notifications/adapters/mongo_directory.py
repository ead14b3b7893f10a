"""Projections of org-graph and resources facts (upserts keyed by the facts' ids: idempotent)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from civicgrid_contracts.envelope import CloudEvent
from civicgrid_contracts.events import households, org, resources
from civicgrid_contracts.events.base import EventPayload
from civicgrid_notifications.domain.model import Audience, AudienceKind
from civicgrid_notifications.domain.request_status import STEP_EVENTS
from civicgrid_notifications.service_layer.ports import MembershipView, RequestView
from civicgrid_runtime.regions import region_covers
from civicgrid_runtime.stores.mongo import upserting

Document = dict[str, Any]
DEFER_WINDOW = timedelta(minutes=10)


class MongoDirectory:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._db = db
        self.people = db["people"]
        self.places = db["places"]
        self.orgs = db["organisations"]
        self.memberships = db["memberships"]
        self.grids = db["grids"]
        self.resources = db["resources"]
        self.grid_members = db["grid_members"]
        self.teams = db["teams"]
        self.requests = db["requests"]
        self.households = db["households"]

    async def ensure_indexes(self) -> None:
        await self.memberships.create_index([("person_id", 1)])
        await self.memberships.create_index([("community_code", 1), ("active", 1)])
        await self.memberships.create_index([("grid_id", 1), ("active", 1)])
        await self.grid_members.create_index([("grid_id", 1), ("active", 1)])
        await self.grid_members.create_index([("person_id", 1)])
        await self.teams.create_index([("grid_id", 1)])
        await self.resources.create_index([("person_id", 1)])
        await self.households.create_index([("compound_code", 1)])
        await self._db["deferred"].create_index([("waiting_for", 1)])
        await self._db["deferred"].create_index([("created_at", 1)])

    async def apply(self, event: CloudEvent, payload: EventPayload) -> set[str]:
        """Project the fact; returns the persons whose audiences it may have changed."""
        moved = await self._moved_before(payload)
        await self._apply(event, payload)
        return moved | await self._moved_after(payload)

    async def _moved_before(self, payload: EventPayload) -> set[str]:
        """Persons read before the fact is applied (it ends what names them)."""
        if isinstance(payload, org.OrganisationDissolved):
            found = self.memberships.find({"org_id": payload.org_id, "active": True}, {"person_id": 1})
            return {d["person_id"] async for d in found if d.get("person_id")}
        if isinstance(payload, resources.ResourceLeftGrid):
            doc = await self.grid_members.find_one({"_id": f"{payload.resource_id}:{payload.grid_id}"})
            return {doc["person_id"]} if doc and doc.get("person_id") else set()
        return set()

    async def _moved_after(self, payload: EventPayload) -> set[str]:
        if isinstance(payload, org.PersonRegistered | org.MembershipStarted):
            return {payload.person_id}
        if isinstance(payload, org.MembershipEnded):
            doc = await self.memberships.find_one({"_id": payload.membership_id}, {"person_id": 1})
            return {doc["person_id"]} if doc and doc.get("person_id") else set()
        if isinstance(payload, resources.ResourceReportedIn | resources.ResourceJoinedGrid):
            if payload.person_id:
                return {payload.person_id}
            person, _name = await self.resource(payload.resource_id)
            return {person} if person else set()
        return set()

    async def _apply(self, event: CloudEvent, payload: EventPayload) -> None:
        c = payload.community_code
        if isinstance(
            payload,
            households.HouseholdRegistered | households.HouseholdUpdated | households.HouseholdRemoved,
        ):
            await self._household(payload)
        elif isinstance(payload, org.PersonRegistered):
            await self._set(
                self.people, payload.person_id, community_code=c, display_name=payload.display_name
            )
        elif isinstance(payload, org.PlaceRegistered):
            await self._set(
                self.places, payload.code, name=payload.name, kind=payload.kind.value, community_code=c
            )
        elif isinstance(payload, org.PlaceUpdated) and payload.name:
            await self._set(self.places, payload.code, name=payload.name)
        elif isinstance(payload, org.GridDefined):
            await self._set(self.grids, payload.grid_id, name=payload.name, community_code=c)
        elif isinstance(payload, org.OrganisationFormed):
            await self._set(
                self.orgs,
                payload.org_id,
                name=payload.name,
                kind=payload.kind.value,
                place_code=payload.place_code,
                community_code=c,
            )
        elif isinstance(payload, org.OrganisationDissolved):
            await self._set(self.orgs, payload.org_id, dissolved=True)
            await self.memberships.update_many({"org_id": payload.org_id}, {"$set": {"active": False}})
        elif isinstance(payload, org.MembershipStarted):
            await self._membership_started(payload)
        elif isinstance(payload, org.MembershipEnded):
            await self._set(self.memberships, payload.membership_id, active=False, ended=True)
        elif isinstance(payload, resources.ResourceReportedIn):
            await self._set(
                self.resources,
                payload.resource_id,
                person_id=payload.person_id,
                display_name=payload.display_name,
                community_code=c,
            )
        elif isinstance(payload, resources.ResourceJoinedGrid):
            await self._set(
                self.grid_members,
                f"{payload.resource_id}:{payload.grid_id}",
                resource_id=payload.resource_id,
                person_id=payload.person_id,
                grid_id=payload.grid_id,
                role=payload.role,
                active=True,
            )
            if payload.person_id:
                await self.resources.update_one(
                    {"_id": payload.resource_id},
                    {"$set": {"person_id": payload.person_id}, "$setOnInsert": {"community_code": c}},
                    upsert=True,
                )
        elif isinstance(payload, resources.ResourceLeftGrid):
            await self._set(self.grid_members, f"{payload.resource_id}:{payload.grid_id}", active=False)
        elif isinstance(payload, resources.TeamFormed):
            await self._set(
                self.teams, payload.team_id, name=payload.name, grid_id=payload.grid_id, community_code=c
            )
            if payload.leader_resource_id:
                await self.teams.update_one(
                    {"_id": payload.team_id}, {"$addToSet": {"members": payload.leader_resource_id}}
                )
        elif isinstance(payload, resources.TeamMemberAdded):
            await self.teams.update_one(
                {"_id": payload.team_id}, {"$addToSet": {"members": payload.resource_id}}, upsert=True
            )
        elif isinstance(payload, resources.RequestReceived):
            # Proposed optional field of request.received (see docs/notifications.md); either spelling.
            resident = event.data.get("resident_person_id") or event.data.get("resident_id")
            await self._set(
                self.requests,
                payload.request_id,
                community_code=c,
                grid_id=payload.grid_id,
                kind=payload.kind.value,
                category=payload.category,
                urgency=payload.urgency.value,
                summary=payload.summary,
                due_at=payload.due_at,
                resident_id=resident if isinstance(resident, str) else None,
            )
        elif isinstance(payload, resources.RequestDispatched):
            await self._set(self.requests, payload.request_id, assignee_ids=list(payload.assignee_ids))
        request_id = getattr(payload, "request_id", None)
        if event.type in STEP_EVENTS and isinstance(request_id, str):
            await self._request_step(event, payload, request_id)

    async def _membership_started(self, payload: org.MembershipStarted) -> None:
        """The membership, active unless its end arrived first (another partition order never
        happens, but a replay might): one upsert that matches only a membership not ended; if an
        ended one is there, its insert fails on the ``_id`` and the fields are set without
        ``active``. Then the person, known at least by community. Two round trips, not three."""
        fields = {
            "person_id": payload.person_id,
            "post": payload.post,
            "org_id": payload.org_id,
            "grid_id": payload.grid_id,
            "place_code": payload.place_code,
            "community_code": payload.community_code,
            "start_date": payload.start_date.isoformat(),
            "basis_reference": payload.basis_reference,
        }
        try:
            await self.memberships.update_one(
                {"_id": payload.membership_id, "ended": {"$ne": True}},
                {"$set": {**fields, "active": True}},
                upsert=True,
            )
        except DuplicateKeyError:
            await self._set(self.memberships, payload.membership_id, **fields)
        # A person appointed in two communities at once: facts of two keys (the consumer's order)
        # may insert it at the same moment; the loser matches the winner's document.
        await upserting(
            lambda: self.people.update_one(
                {"_id": payload.person_id},
                {"$setOnInsert": {"community_code": payload.community_code}},
                upsert=True,
            )
        )

    async def organisation_name(self, org_id: str) -> str:
        """The organisation's name, or its id while its fact has not arrived."""
        doc = await self.orgs.find_one({"_id": org_id}, {"name": 1})
        return str((doc or {}).get("name") or org_id)

    async def _request_step(self, event: CloudEvent, payload: EventPayload, request_id: str) -> None:
        """The request's handling as steps (one per event: a redelivery adds nothing) and its status:
        the latest step by event time (facts on several partitions may arrive out of order)."""
        status = STEP_EVENTS[event.type]
        note = None
        for name in ("result", "note", "reason", "outcome", "to_tier"):
            value = getattr(payload, name, None)
            if value is not None:
                note = str(getattr(value, "value", value))[:200]
                break
        rating = getattr(payload, "rating", None)
        step = {"event_id": event.id, "status": status, "at": event.time, "note": note, "rating": rating}
        await self.requests.update_one({"_id": request_id}, {"$addToSet": {"steps": step}}, upsert=True)
        await self.requests.update_one(
            {"_id": request_id, "$or": [{"status_at": {"$lte": event.time}}, {"status_at": None}]},
            {"$set": {"status": status, "status_at": event.time}},
        )

    async def _household(
        self,
        payload: households.HouseholdRegistered | households.HouseholdUpdated | households.HouseholdRemoved,
    ) -> None:
        """Owners per household (who hears of their compound's votes); full-state facts, by version."""
        current = await self.households.find_one({"_id": payload.household_code}, {"version": 1})
        if current is not None and current.get("version", 0) >= payload.version:
            return
        if isinstance(payload, households.HouseholdRemoved):
            state: Document = {"removed": True, "owners": []}
        else:
            state = {"removed": False, "owners": [o.person_id for o in payload.owners]}
            state["compound_code"] = payload.compound_code
        await self._set(self.households, payload.household_code, version=payload.version, **state)

    async def compound_owners(self, compound_code: str) -> set[str]:
        found = self.households.find({"compound_code": compound_code, "removed": False}, {"owners": 1})
        return {owner async for doc in found for owner in doc.get("owners", [])}

    @staticmethod
    async def _set(collection: Any, key: str, **fields: Any) -> None:
        await collection.update_one({"_id": key}, {"$set": fields}, upsert=True)

    async def membership(self, membership_id: str) -> MembershipView | None:
        doc = await self.memberships.find_one({"_id": membership_id})
        if doc is None or "person_id" not in doc:
            return None
        org_doc = await self.orgs.find_one({"_id": doc["org_id"]}) or {}
        return MembershipView(
            membership_id=membership_id,
            person_id=doc["person_id"],
            post=doc["post"],
            org_id=doc["org_id"],
            org_name=str(org_doc.get("name") or doc["org_id"]),
            place_code=doc["place_code"],
            grid_id=doc.get("grid_id"),
            start_date=doc.get("start_date", ""),
            basis_reference=doc.get("basis_reference", ""),
        )

    async def request_status(self, request_id: str) -> Document | None:
        """What the app shows of a request: summary, category, status and its steps, oldest first."""
        doc = await self.requests.find_one({"_id": request_id})
        if doc is None:
            return None
        steps = sorted(doc.get("steps") or [], key=lambda s: (s.get("at") is None, s.get("at")))
        return {
            "request_id": request_id,
            "summary": doc.get("summary"),
            "category": doc.get("category"),
            "kind": doc.get("kind"),
            "urgency": doc.get("urgency"),
            "due_at": doc.get("due_at"),
            "status": doc.get("status") or ("received" if doc.get("summary") else "unknown"),
            "steps": [{k: s.get(k) for k in ("status", "at", "note", "rating")} for s in steps],
        }

    async def grid_name(self, grid_id: str) -> str | None:
        doc = await self.grids.find_one({"_id": grid_id})
        return doc.get("name") if doc else None

    async def grid_team(self, grid_id: str) -> set[str]:
        persons: set[str] = set()
        async for doc in self.grid_members.find({"grid_id": grid_id, "active": True}):
            if doc.get("person_id"):
                persons.add(doc["person_id"])
        async for doc in self.memberships.find({"grid_id": grid_id, "active": True}):
            persons.add(doc["person_id"])
        resource_ids: list[str] = []
        async for team in self.teams.find({"grid_id": grid_id}):
            resource_ids.extend(team.get("members", []))
        persons |= await self._persons_of_resources(resource_ids)
        return persons

    async def team(self, team_id: str) -> tuple[str | None, set[str]]:
        doc = await self.teams.find_one({"_id": team_id})
        if doc is None:
            return None, set()
        return doc.get("name"), await self._persons_of_resources(doc.get("members", []))

    async def resource(self, resource_id: str) -> tuple[str | None, str | None]:
        doc = await self.resources.find_one({"_id": resource_id})
        return (doc.get("person_id"), doc.get("display_name")) if doc else (None, None)

    async def _persons_of_resources(self, resource_ids: Sequence[str]) -> set[str]:
        if not resource_ids:
            return set()
        found = self.resources.find({"_id": {"$in": list(resource_ids)}, "person_id": {"$ne": None}})
        return {doc["person_id"] async for doc in found}

    async def request(self, request_id: str) -> RequestView | None:
        doc = await self.requests.find_one({"_id": request_id})
        if doc is None or "summary" not in doc:
            return None
        return RequestView(
            request_id=request_id,
            community_code=doc["community_code"],
            grid_id=doc.get("grid_id"),
            kind=doc["kind"],
            category=doc["category"],
            urgency=doc["urgency"],
            summary=doc["summary"],
            due_at=doc.get("due_at"),
            resident_id=doc.get("resident_id"),
            assignee_ids=tuple(doc.get("assignee_ids", [])),
        )

    async def persons_for_assignees(
        self, ids: Sequence[str], coordinator_posts: frozenset[str] = frozenset()
    ) -> tuple[set[str], list[str]]:
        """An assignee id may name a team, a resource or a person: each resolves to people.

        Returns the people and the ids that resolved to nobody known yet (a team, resource or person
        whose facts, on another topic, have not arrived): the caller defers the event for those.
        """
        persons: set[str] = set()
        unresolved: list[str] = []
        for assignee in ids:
            name, members = await self.team(assignee)
            if members:
                persons |= members
                continue
            if name is not None:
                unresolved.append(assignee)  # a team with no members yet
                continue
            person, _ = await self.resource(assignee)
            if person:
                persons.add(person)
            elif assignee.startswith("grid-") and await self.grids.find_one({"_id": assignee[5:]}):
                persons |= await self.grid_team(assignee[5:])  # the grid's desk: whoever serves the grid
            elif assignee.startswith("community-") and len(assignee) == 22:
                persons |= await self.community_coordinators(assignee[10:], coordinator_posts)
            elif assignee.startswith(("street-", "department-")):
                continue  # desks above the community: their staff are not in this service's projections
            elif await self.people.find_one({"_id": assignee}, {"_id": 1}) is not None:
                persons.add(assignee)
            else:
                unresolved.append(assignee)
        return persons, unresolved

    async def defer(self, waiting_for: str, rule: str, event: CloudEvent) -> None:
        """Keep an event whose recipients include an id not known yet; replayed when it becomes known."""
        await self._db["deferred"].update_one(
            {"_id": f"{waiting_for}|{rule}|{event.id}"},
            {
                "$setOnInsert": {
                    "waiting_for": waiting_for,
                    "rule": rule,
                    "event": event.model_dump(mode="json"),
                }
            },
            upsert=True,
        )

    async def deferred_for(self, ids: Sequence[str]) -> list[tuple[str, str, CloudEvent]]:
        found = self._db["deferred"].find({"waiting_for": {"$in": list(ids)}})
        return [(d["_id"], d["waiting_for"], CloudEvent.model_validate(d["event"])) async for d in found]

    async def forget_deferred(self, key: str) -> None:
        await self._db["deferred"].delete_one({"_id": key})

    async def community_coordinators(self, community_code: str, posts: frozenset[str]) -> set[str]:
        found = self.memberships.find(
            {
                "community_code": community_code,
                "place_code": community_code,  # organisations of the community itself, not of a compound
                "active": True,
                "post": {"$in": sorted(posts)},
            }
        )
        return {doc["person_id"] async for doc in found}

    async def audiences_of(self, person_id: str) -> list[str]:
        """Every audience the person belongs to: themselves, their posts, organisations, grids, places."""
        keys = {f"{AudienceKind.PERSON.value}:{person_id}"}
        communities: set[str] = set()
        person = await self.people.find_one({"_id": person_id})
        if person and person.get("community_code"):
            communities.add(person["community_code"])
        async for m in self.memberships.find({"person_id": person_id, "active": True}):
            keys.add(f"{AudienceKind.POST.value}:{m['org_id']}/{m['post']}")
            keys.add(f"{AudienceKind.ORGANISATION.value}:{m['org_id']}")
            if m.get("grid_id"):
                keys.add(f"{AudienceKind.GRID.value}:{m['grid_id']}")
            communities.add(m["community_code"])
        async for g in self.grid_members.find({"person_id": person_id, "active": True}):
            keys.add(f"{AudienceKind.GRID.value}:{g['grid_id']}")
            communities.add(g["grid_id"][:12])
        async for r in self.resources.find({"person_id": person_id}):
            communities.add(r["community_code"])
        for code in communities:
            keys.add(f"{AudienceKind.COMMUNITY.value}:{code}")
            keys.add(f"{AudienceKind.STREET.value}:{code[:9]}")
        return sorted(keys)

    async def members_in_audience(self, audience: Audience, candidates: Sequence[str]) -> set[str]:
        """Which of ``candidates`` belong to ``audience`` (batched: a few queries per page)."""
        ids = list(candidates)
        kind, code = audience.kind, audience.code
        if kind is AudienceKind.PERSON:
            return {code} & set(ids)
        active = {"person_id": {"$in": ids}, "active": True}
        if kind is AudienceKind.POST:
            org_id, _, post = code.partition("/")
            return {
                d["person_id"]
                async for d in self.memberships.find({**active, "org_id": org_id, "post": post})
            }
        if kind is AudienceKind.ORGANISATION:
            return {d["person_id"] async for d in self.memberships.find({**active, "org_id": code})}
        if kind is AudienceKind.GRID:
            found = {d["person_id"] async for d in self.grid_members.find({**active, "grid_id": code})}
            return found | {d["person_id"] async for d in self.memberships.find({**active, "grid_id": code})}
        found = set()
        async for d in self.people.find({"_id": {"$in": ids}}):
            if str(d.get("community_code", "")).startswith(code):
                found.add(d["_id"])
        async for d in self.memberships.find(active):
            if str(d.get("community_code", "")).startswith(code):
                found.add(d["person_id"])
        async for d in self.grid_members.find(active):
            if str(d.get("grid_id", "")).startswith(code):
                found.add(d["person_id"])
        async for d in self.resources.find({"person_id": {"$in": ids}}):
            if str(d.get("community_code", "")).startswith(code):
                found.add(d["person_id"])
        return found

    async def in_region(self, region: str, audience_code: str) -> bool:
        """Whether an organisation or person named in an audience lies in ``region`` (for coordinators)."""
        doc = await self.orgs.find_one({"_id": audience_code}) or await self.people.find_one(
            {"_id": audience_code}
        )
        return bool(doc and region_covers(region, doc.get("community_code", "")))
