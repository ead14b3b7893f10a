"""Use cases of signing in on a phone: ask for a code, sign in with it, refresh, sign out.

The member is found by the keyed hash of the number (the SMS contacts this service keeps: set by
the member or an admin with ``PUT /members/{id}/contacts``); an unknown number gets the same answer
as a known one (no code is sent), so the endpoint does not tell who is a member.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from civicgrid_contracts.values import mask_phone
from civicgrid_notifications.domain.signin import (
    CLIENT_LIMITS,
    PHONE_LIMITS,
    Challenge,
    CheckOutcome,
    CodePolicy,
    Limit,
    code_hash,
    new_code,
    new_refresh_token,
    normalise_phone,
    phone_hash,
    retry_after,
    token_hash,
    valid_code_shape,
)
from civicgrid_runtime.errors import CivicGridError
from civicgrid_runtime.logging import get_logger

log = get_logger(__name__)


class TooManyRequests(CivicGridError):
    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message, retry_after=retry_after_seconds)
        self.retry_after_seconds = retry_after_seconds


class SignInFailed(CivicGridError):
    status_code = 401
    code = "sign_in_failed"


class SignInUnavailable(CivicGridError):
    status_code = 503
    code = "sign_in_unavailable"


class CodeSender(Protocol):
    """The SMS gateway port, as sign-in uses it: one text to one number."""

    async def send_code(self, phone: str, code: str, minutes: int, reference: str) -> None: ...


class TokenMinter(Protocol):
    def member_token(self, person_id: str, ttl_seconds: int) -> str: ...


@dataclass(frozen=True)
class RefreshRecord:
    token_digest: str
    family: str
    person_id: str
    expires_at: datetime
    used: bool


class SignInStore(Protocol):
    async def person_for_phone(self, phone_digest: str) -> list[str]:
        """Members whose SMS contact has this hash (normally one)."""
        ...

    async def hit(self, key: str, expires_at: datetime) -> int:
        """Count one request against a rate-limit bucket; returns the count including it."""
        ...

    async def save_challenge(self, challenge: Challenge) -> None: ...

    async def try_challenge(self, phone_digest: str) -> Challenge | None:
        """Count one try of the phone's code and return it (with the try counted)."""
        ...

    async def spend_challenge(self, phone_digest: str, code_digest: str) -> bool:
        """Remove the code if it is still this one; True for exactly one caller."""
        ...

    async def add_refresh(self, record: RefreshRecord) -> None: ...

    async def use_refresh(self, token_digest: str) -> RefreshRecord | None:
        """Mark the token used and return it as it was before (None if unknown)."""
        ...

    async def revoke_family(self, family: str) -> None: ...


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int
    person_id: str


@dataclass
class PhoneSignIn:
    store: SignInStore
    sender: CodeSender | None
    minter: TokenMinter | None
    key: bytes
    policy: CodePolicy = field(default_factory=CodePolicy)
    phone_limits: tuple[Limit, ...] = PHONE_LIMITS
    client_limits: tuple[Limit, ...] = CLIENT_LIMITS
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def _available(self) -> tuple[CodeSender, TokenMinter]:
        if self.sender is None or self.minter is None:
            raise SignInUnavailable("sign-in by SMS is not configured on this service")
        return self.sender, self.minter

    async def _limit(self, limits: tuple[Limit, ...], key: str, now: datetime) -> None:
        for limit in limits:
            number, end = limit.bucket(now)
            used = await self.store.hit(f"{limit.name}:{key}:{number}", end)
            wait = retry_after(limit, used, now)
            if wait is not None:
                raise TooManyRequests(f"too many code requests ({limit.name}); retry after {wait} s", wait)

    async def request_code(self, phone: str, client: str) -> dict[str, int]:
        """Send a code to the phone if it belongs to a member; the answer is the same either way."""
        sender, _ = self._available()
        number = normalise_phone(phone)
        digest = phone_hash(self.key, number)
        now = self.clock()
        await self._limit(self.client_limits, client, now)
        await self._limit(self.phone_limits, digest, now)
        persons = await self.store.person_for_phone(digest)
        person = persons[0] if len(persons) == 1 else None
        code = new_code(self.policy.length)
        challenge = Challenge(
            phone_digest=digest,
            code_digest=code_hash(self.key, digest, code) if person else "",
            expires_at=now + self.policy.ttl,
            attempts=0,
            person_id=person,
        )
        await self.store.save_challenge(challenge)
        minutes = int(self.policy.ttl.total_seconds() // 60)
        if person:
            await sender.send_code(number, code, minutes, reference=digest[:16])
        else:
            reason = "several members share it" if persons else "no member has it"
            log.info("sign-in code not sent", phone=mask_phone(number), reason=reason)
        return {"expires_in": int(self.policy.ttl.total_seconds()), "resend_after": self._resend_after()}

    def _resend_after(self) -> int:
        return int(min(limit.window for limit in self.phone_limits).total_seconds())

    async def verify(self, phone: str, code: str) -> Tokens:
        """Exchange a code for an access token and a refresh token."""
        _, minter = self._available()
        digest = phone_hash(self.key, normalise_phone(phone))
        failed = SignInFailed("the code is wrong or expired; ask for a new one if needed")
        if not valid_code_shape(code, self.policy):
            raise failed
        challenge = await self.store.try_challenge(digest)
        if challenge is None:
            raise failed
        outcome = challenge.check(self.key, code, self.clock(), self.policy)
        if outcome is CheckOutcome.EXHAUSTED:
            raise SignInFailed("too many wrong codes: ask for a new one", reason="attempts_exhausted")
        if outcome is CheckOutcome.EXPIRED:
            raise SignInFailed("the code has expired: ask for a new one", reason="expired")
        if outcome is not CheckOutcome.OK or challenge.person_id is None:
            raise failed
        if not await self.store.spend_challenge(digest, challenge.code_digest):
            raise failed  # used by a concurrent sign-in
        return await self._issue(minter, challenge.person_id, family=None)

    async def refresh(self, refresh_token: str) -> Tokens:
        """A new pair for a refresh token, which is spent; a spent one revokes its family."""
        _, minter = self._available()
        record = await self.store.use_refresh(token_hash(refresh_token))
        failed = SignInFailed("the refresh token is not valid: sign in again")
        if record is None:
            raise failed
        if record.used:
            await self.store.revoke_family(record.family)
            log.warning(
                "a spent refresh token was used again: its family is revoked", person=record.person_id
            )
            raise failed
        if self.clock() >= record.expires_at:
            raise failed
        return await self._issue(minter, record.person_id, family=record.family)

    async def sign_out(self, refresh_token: str) -> None:
        record = await self.store.use_refresh(token_hash(refresh_token))
        if record is not None:
            await self.store.revoke_family(record.family)

    async def _issue(self, minter: TokenMinter, person_id: str, family: str | None) -> Tokens:
        refresh = new_refresh_token()
        now = self.clock()
        await self.store.add_refresh(
            RefreshRecord(
                token_digest=token_hash(refresh),
                family=family or token_hash(refresh)[:32],
                person_id=person_id,
                expires_at=now + self.policy.refresh_ttl,
                used=False,
            )
        )
        ttl = int(self.policy.access_ttl.total_seconds())
        return Tokens(minter.member_token(person_id, ttl), refresh, ttl, person_id)
