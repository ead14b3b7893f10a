"""Use case: register a person with minimal personal data (ID number only as a salted hash)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from civicgrid_contracts.values import mask_phone
from civicgrid_orggraph.domain.events import DomainEvent
from civicgrid_orggraph.domain.vocabulary import BASE_UNITS
from civicgrid_orggraph.service_layer.common import fingerprint, idempotency_scope, person_view, require_place
from civicgrid_orggraph.service_layer.ports import GraphTx, Locks, PersonRecord, Result, UnitOfWork
from civicgrid_runtime.auth import Principal
from civicgrid_runtime.errors import Conflict, InvalidInput, RuleViolation
from civicgrid_runtime.pii import hash_id_number


@dataclass(frozen=True)
class RegisterPerson:
    display_name: str
    community_code: str
    party_member: bool
    phone: str | None = None
    id_number: str | None = None
    person_id: str | None = None


@dataclass(frozen=True)
class PreparedPerson:
    record: PersonRecord
    id_hash: str | None


def prepare(cmd: RegisterPerson, salt: str) -> PreparedPerson:
    """Mask the phone and hash the ID number at once: neither is kept in clear beyond this point."""
    try:
        phone = mask_phone(cmd.phone) if cmd.phone else None
    except ValueError:
        raise InvalidInput("phone: not a phone number (expected 7 to 12 digits)") from None
    try:
        id_hash = hash_id_number(cmd.id_number, salt) if cmd.id_number else None
    except ValueError as error:
        raise InvalidInput(f"id_number: {error}") from None
    name = cmd.display_name.strip()
    if not name:
        raise InvalidInput("display_name: must not be empty")
    person_id = cmd.person_id or f"p-{uuid.uuid4().hex[:16]}"
    return PreparedPerson(PersonRecord(person_id, name, cmd.party_member, phone, cmd.community_code), id_hash)


async def register_in(g: GraphTx, prepared: PreparedPerson, actor: str) -> tuple[Result, bool]:
    person = prepared.record
    existing = await g.get_person(person.person_id)
    if existing is None and prepared.id_hash is not None:
        existing = await g.person_by_id_hash(prepared.id_hash)
        if existing is not None and existing.community_code != person.community_code:
            # no id in the answer: the caller may not be allowed to see that community's people
            raise Conflict(
                "a person with this ID-card number is registered in another community",
                rule="id_number_registered_elsewhere",
            )
    if existing is not None:
        if (existing.display_name, existing.party_member, existing.community_code) != (
            person.display_name,
            person.party_member,
            person.community_code,
        ):
            raise Conflict(
                f"person {existing.person_id} is already registered with other data",
                rule="person_id_taken",
                existing_person_id=existing.person_id,
            )
        return person_view(existing), False
    community = await require_place(g, person.community_code)
    if community.kind not in BASE_UNITS:
        raise RuleViolation("person_in_community", "a person is registered in a community or village")
    await g.create_person(person, prepared.id_hash, actor)
    g.emit(
        DomainEvent(
            "person.registered",
            person.community_code,
            f"person/{person.person_id}",
            {
                "person_id": person.person_id,
                "display_name": person.display_name,
                "party_member": person.party_member,
                "phone": person.phone,
            },
        )
    )
    return person_view(person), True


async def register_person(
    uow: UnitOfWork, principal: Principal, cmd: RegisterPerson, salt: str, key: str | None = None
) -> Result:
    principal.ensure_can_manage(cmd.community_code)
    prepared = prepare(cmd, salt)

    async def work(g: GraphTx) -> Result:
        await g.lock(Locks.of(people=[cmd.person_id]))
        view, created = await register_in(g, prepared, principal.subject)
        return {**view, "created": created}

    body = {**prepared.record.__dict__, "person_id": cmd.person_id, "id_number": prepared.id_hash}
    return await uow.run(
        work,
        idempotency_key=idempotency_scope(principal, "register_person", key),
        fingerprint=fingerprint(body),
    )
