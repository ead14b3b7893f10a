"""Sign-in by phone and SMS code, with fakes: limits, expiry, tries, one use, rotation, no clear data."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from civicgrid_notifications.domain.signin import (
    Challenge,
    Limit,
    normalise_phone,
    phone_hash,
    retry_after,
)
from civicgrid_notifications.entrypoints.signin_wiring import wire_sign_in
from civicgrid_notifications.service_layer.signin import (
    PhoneSignIn,
    RefreshRecord,
    SignInFailed,
    SignInUnavailable,
    TooManyRequests,
)
from civicgrid_notifications.settings import NotificationsSettings
from civicgrid_runtime.errors import InvalidInput

KEY = b"k" * 32
PHONE = "13812345678"
NOW = datetime(2026, 3, 1, 8, 0, 30, tzinfo=UTC)


@dataclass
class FakeStore:
    phones: dict[str, list[str]] = field(default_factory=dict)
    buckets: dict[str, int] = field(default_factory=dict)
    codes: dict[str, Challenge] = field(default_factory=dict)
    refresh: dict[str, RefreshRecord] = field(default_factory=dict)

    async def person_for_phone(self, phone_digest: str) -> list[str]:
        return self.phones.get(phone_digest, [])

    async def hit(self, key: str, expires_at: datetime) -> int:
        self.buckets[key] = self.buckets.get(key, 0) + 1
        return self.buckets[key]

    async def save_challenge(self, challenge: Challenge) -> None:
        self.codes[challenge.phone_digest] = challenge

    async def try_challenge(self, phone_digest: str) -> Challenge | None:
        found = self.codes.get(phone_digest)
        if found is None:
            return None
        self.codes[phone_digest] = replace(found, attempts=found.attempts + 1)
        return self.codes[phone_digest]

    async def spend_challenge(self, phone_digest: str, code_digest: str) -> bool:
        found = self.codes.get(phone_digest)
        if found is None or found.code_digest != code_digest:
            return False
        del self.codes[phone_digest]
        return True

    async def add_refresh(self, record: RefreshRecord) -> None:
        self.refresh[record.token_digest] = record

    async def use_refresh(self, token_digest: str) -> RefreshRecord | None:
        found = self.refresh.get(token_digest)
        if found is not None:
            self.refresh[token_digest] = replace(found, used=True)
        return found

    async def revoke_family(self, family: str) -> None:
        for digest, record in list(self.refresh.items()):
            if record.family == family:
                self.refresh[digest] = replace(record, used=True)


@dataclass
class FakeSms:
    sent: list[tuple[str, str]] = field(default_factory=list)

    async def send_code(self, phone: str, code: str, minutes: int, reference: str) -> None:
        self.sent.append((phone, code))


class FakeMinter:
    def member_token(self, person_id: str, ttl_seconds: int) -> str:
        return f"jwt-for-{person_id}-{ttl_seconds}"


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


def sign_in(clock: Clock | None = None, known: bool = True) -> tuple[PhoneSignIn, FakeStore, FakeSms]:
    store, sms = FakeStore(), FakeSms()
    if known:
        store.phones[phone_hash(KEY, PHONE)] = ["p-member"]
    return PhoneSignIn(store, sms, FakeMinter(), KEY, clock=clock or Clock()), store, sms


def test_phone_numbers_are_normalised_and_a_bad_one_is_refused_without_repeating_it() -> None:
    assert normalise_phone("+86 138-1234-5678") == PHONE
    assert normalise_phone("0086 13812345678") == PHONE
    with pytest.raises(InvalidInput) as refused:
        normalise_phone("12812345678")
    assert "12812345678" not in str(refused.value.to_body())


def test_the_phone_hash_is_keyed_and_never_contains_the_number() -> None:
    digest = phone_hash(KEY, PHONE)
    assert PHONE not in digest
    assert digest == phone_hash(KEY, "+86 13812345678")
    assert digest != phone_hash(b"x" * 32, PHONE)


def test_a_limit_gives_the_seconds_left_in_its_window_once_passed() -> None:
    minute = Limit("m", 1, timedelta(minutes=1))
    assert retry_after(minute, 1, NOW) is None
    assert retry_after(minute, 2, NOW) == 30


async def test_a_known_member_gets_a_code_by_sms_and_signs_in_with_it_once() -> None:
    service, store, sms = sign_in()
    answer = await service.request_code("+86 13812345678", "10.0.0.1")
    assert answer == {"expires_in": 300, "resend_after": 60}
    [(to, code)] = sms.sent
    assert to == PHONE
    assert len(code) == 6
    assert code.isdigit()
    stored = next(iter(store.codes.values()))
    assert code not in stored.code_digest
    assert PHONE not in stored.phone_digest

    tokens = await service.verify(PHONE, code)
    assert tokens.person_id == "p-member"
    assert tokens.access_token == "jwt-for-p-member-900"
    with pytest.raises(SignInFailed):
        await service.verify(PHONE, code)


async def test_an_unknown_number_gets_the_same_answer_but_no_sms_and_no_code_works() -> None:
    service, _store, sms = sign_in(known=False)
    answer = await service.request_code(PHONE, "10.0.0.1")
    assert answer == {"expires_in": 300, "resend_after": 60}
    assert sms.sent == []
    with pytest.raises(SignInFailed):
        await service.verify(PHONE, "000000")


async def test_a_second_code_within_a_minute_is_refused_with_the_wait() -> None:
    service, _store, sms = sign_in()
    await service.request_code(PHONE, "10.0.0.1")
    with pytest.raises(TooManyRequests) as refused:
        await service.request_code(PHONE, "10.0.0.2")
    assert refused.value.retry_after_seconds == 30
    assert len(sms.sent) == 1


async def test_one_client_address_may_ask_thirty_codes_an_hour_whatever_the_numbers() -> None:
    clock = Clock()
    service, _store, _sms = sign_in(clock)
    for n in range(30):
        await service.request_code(f"139000000{n:02d}", "10.0.0.9")
    with pytest.raises(TooManyRequests) as refused:
        await service.request_code("13900000099", "10.0.0.9")
    assert refused.value.retry_after_seconds > 0
    await service.request_code("13900000099", "10.0.0.10")  # another address is not held back


async def test_a_number_gets_at_most_five_codes_an_hour() -> None:
    clock = Clock(datetime(2026, 3, 1, 8, 0, 0, tzinfo=UTC))
    service, _store, sms = sign_in(clock)
    for minute in range(5):
        clock.now = datetime(2026, 3, 1, 8, minute * 2, 0, tzinfo=UTC)
        await service.request_code(PHONE, f"10.0.0.{minute}")
    clock.now = datetime(2026, 3, 1, 8, 20, 0, tzinfo=UTC)
    with pytest.raises(TooManyRequests) as refused:
        await service.request_code(PHONE, "10.0.0.77")
    assert refused.value.retry_after_seconds == 40 * 60
    assert len(sms.sent) == 5


async def test_a_code_expires_after_five_minutes() -> None:
    clock = Clock()
    service, _store, sms = sign_in(clock)
    await service.request_code(PHONE, "10.0.0.1")
    clock.now = NOW + timedelta(minutes=5)
    with pytest.raises(SignInFailed) as refused:
        await service.verify(PHONE, sms.sent[0][1])
    assert refused.value.details["reason"] == "expired"


async def test_after_five_wrong_codes_even_the_right_one_is_refused() -> None:
    service, _store, sms = sign_in()
    await service.request_code(PHONE, "10.0.0.1")
    code = sms.sent[0][1]
    wrong = "111111" if code != "111111" else "222222"
    for _ in range(5):
        with pytest.raises(SignInFailed):
            await service.verify(PHONE, wrong)
    with pytest.raises(SignInFailed) as refused:
        await service.verify(PHONE, code)
    assert refused.value.details["reason"] == "attempts_exhausted"


async def test_the_fifth_try_may_still_be_the_right_one() -> None:
    service, _store, sms = sign_in()
    await service.request_code(PHONE, "10.0.0.1")
    code = sms.sent[0][1]
    wrong = "111111" if code != "111111" else "222222"
    for _ in range(4):
        with pytest.raises(SignInFailed):
            await service.verify(PHONE, wrong)
    assert (await service.verify(PHONE, code)).person_id == "p-member"


async def test_a_refresh_token_is_rotated_and_a_reused_one_revokes_the_family() -> None:
    service, _store, sms = sign_in()
    await service.request_code(PHONE, "10.0.0.1")
    first = await service.verify(PHONE, sms.sent[0][1])
    second = await service.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert second.person_id == "p-member"

    with pytest.raises(SignInFailed):
        await service.refresh(first.refresh_token)  # stolen copy replayed
    with pytest.raises(SignInFailed):
        await service.refresh(second.refresh_token)  # ...so the legitimate successor is revoked too


async def test_a_refresh_token_expires_and_sign_out_revokes_it() -> None:
    clock = Clock()
    service, _store, sms = sign_in(clock)
    await service.request_code(PHONE, "10.0.0.1")
    tokens = await service.verify(PHONE, sms.sent[0][1])
    await service.sign_out(tokens.refresh_token)
    with pytest.raises(SignInFailed):
        await service.refresh(tokens.refresh_token)

    clock.now = NOW + timedelta(minutes=2)
    await service.request_code(PHONE, "10.0.0.1")
    later = await service.verify(PHONE, sms.sent[1][1])
    clock.now = NOW + timedelta(days=31)
    with pytest.raises(SignInFailed):
        await service.refresh(later.refresh_token)


async def test_without_an_sms_gateway_sign_in_says_it_is_unavailable() -> None:
    service = PhoneSignIn(FakeStore(), None, FakeMinter(), KEY)
    with pytest.raises(SignInUnavailable):
        await service.request_code(PHONE, "10.0.0.1")


async def test_in_production_without_keys_sign_in_is_unavailable_and_numbers_are_not_indexed(
    tmp_path: Path,
) -> None:
    settings = NotificationsSettings(environment="production", keys_dir=tmp_path, log_json=False)
    db = AsyncMongoClient[dict[str, Any]]("mongodb://127.0.0.1:1", connect=False)["unused"]
    parts = wire_sign_in(settings, db, None)
    assert not (tmp_path / "phone_hash.key").exists()
    with pytest.raises(SignInUnavailable):
        await parts.service.request_code(PHONE, "10.0.0.1")
    await parts.store.remember_phone("p-member", PHONE)  # no key: nothing to write, no connection made


def test_in_development_the_phone_key_is_created_once_and_kept(tmp_path: Path) -> None:
    settings = NotificationsSettings(keys_dir=tmp_path, log_json=False)
    db = AsyncMongoClient[dict[str, Any]]("mongodb://127.0.0.1:1", connect=False)["unused"]
    first = wire_sign_in(settings, db, None)
    key = (tmp_path / "phone_hash.key").read_bytes()
    assert len(key) == 32
    assert first.service.sender is not None
    wire_sign_in(settings, db, None)
    assert (tmp_path / "phone_hash.key").read_bytes() == key
