"""Sign-in by phone number and SMS code against the real service, MongoDB protocol and a gateway stand-in."""

from __future__ import annotations

import asyncio
import random
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from civicgrid_contracts.values import mask_phone
from civicgrid_runtime.auth import Role
from tests.integration.notifications import facts
from tests.integration.notifications.gateways import FakeGateway, fake_gateway
from tests.integration.notifications.harness import RunningService, start_service, stop_service
from tests.support.servers import Servers

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sms_gateway() -> Iterator[FakeGateway]:
    with fake_gateway((200, {"status": "delivered"})) as gateway:
        yield gateway


@pytest.fixture(scope="module")
async def with_sms(
    servers: Servers,
    notifications_keys: Path,
    mongo_client: AsyncMongoClient[dict[str, Any]],
    sms_gateway: FakeGateway,
) -> AsyncIterator[RunningService]:
    suffix = uuid.uuid4().hex[:10]
    database = f"test_notifications_signin_{suffix}"
    service = await start_service(
        servers.kafka_bootstrap,
        servers.mongo_uri,
        database,
        notifications_keys,
        f"test-notifications-signin-{suffix}",
        channels=["web_push", "sms"],
        sms_gateway_url=sms_gateway.url,
        sms_gateway_token="gateway-secret",
    )
    try:
        yield service
    finally:
        await stop_service(service)
        await mongo_client.drop_database(database)


def new_phone() -> str:
    return f"139{random.randint(0, 99_999_999):08d}"


async def member_with_phone(service: RunningService) -> tuple[str, str]:
    person, phone = facts.uid("p"), new_phone()
    answer = await service.http.put(
        f"{service.base_url}/members/{person}/contacts",
        json={"sms": phone},
        headers=service.auth(role=Role.ADMIN),
    )
    assert answer.status_code == 204
    return person, phone


def code_sent_to(gateway: FakeGateway, phone: str) -> str:
    texts = [r.json()["text"] for r in gateway.received if r.json().get("to") == phone]
    assert texts, "no SMS reached the gateway for this number"
    found = re.search(r"[0-9]{6}", texts[-1])
    assert found is not None
    return found.group(0)


async def test_a_member_signs_in_with_the_code_sent_by_sms_and_refreshes_with_rotation(
    with_sms: RunningService, sms_gateway: FakeGateway, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    service, base = with_sms, with_sms.base_url
    person, phone = await member_with_phone(service)

    asked = await service.http.post(f"{base}/auth/sms-code", json={"phone": f"+86 {phone}"})
    assert asked.status_code == 202
    assert asked.json() == {"expires_in": 300, "resend_after": 60}
    sms = [r for r in sms_gateway.received if r.json().get("to") == phone]
    assert len(sms) == 1
    assert sms[0].path == "/messages"
    assert sms[0].headers["Authorization"] == "Bearer gateway-secret"
    assert "登录验证码" in sms[0].json()["text"]
    code = code_sent_to(sms_gateway, phone)

    signed = await service.http.post(f"{base}/auth/sms-code/verify", json={"phone": phone, "code": code})
    assert signed.status_code == 200, signed.text
    tokens = signed.json()
    assert tokens["person_id"] == person
    assert tokens["token_type"] == "Bearer"
    me = await service.http.get(f"{base}/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.json()["person_id"] == person
    assert me.json()["roles"] == ["member"]
    feed = await service.http.get(
        f"{base}/members/{person}/feed", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert feed.status_code == 200

    again = await service.http.post(f"{base}/auth/sms-code/verify", json={"phone": phone, "code": code})
    assert again.status_code == 401  # one use

    rotated = await service.http.post(f"{base}/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert rotated.status_code == 200
    assert rotated.json()["refresh_token"] != tokens["refresh_token"]
    replayed = await service.http.post(
        f"{base}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert replayed.status_code == 401
    successor = await service.http.post(
        f"{base}/auth/refresh", json={"refresh_token": rotated.json()["refresh_token"]}
    )
    assert successor.status_code == 401  # a replayed token revokes its whole family

    db = mongo_client[service.settings.mongo_database]
    for name in ("signin_codes", "signin_limits", "refresh_tokens"):
        async for doc in db[name].find({}):
            text = repr(doc)
            assert phone not in text, name
            assert tokens["refresh_token"] not in text, name


async def test_a_second_code_within_the_minute_is_refused_with_retry_after(
    with_sms: RunningService, sms_gateway: FakeGateway
) -> None:
    _person, phone = await member_with_phone(with_sms)
    first = await with_sms.http.post(f"{with_sms.base_url}/auth/sms-code", json={"phone": phone})
    assert first.status_code == 202
    second = await with_sms.http.post(f"{with_sms.base_url}/auth/sms-code", json={"phone": phone})
    assert second.status_code == 429
    assert 1 <= int(second.headers["Retry-After"]) <= 60
    assert second.json()["error"] == "too_many_requests"
    assert len([r for r in sms_gateway.received if r.json().get("to") == phone]) == 1


async def test_five_wrong_codes_spend_the_code(with_sms: RunningService, sms_gateway: FakeGateway) -> None:
    _person, phone = await member_with_phone(with_sms)
    await with_sms.http.post(f"{with_sms.base_url}/auth/sms-code", json={"phone": phone})
    code = code_sent_to(sms_gateway, phone)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        answer = await with_sms.http.post(
            f"{with_sms.base_url}/auth/sms-code/verify", json={"phone": phone, "code": wrong}
        )
        assert answer.status_code == 401
    right = await with_sms.http.post(
        f"{with_sms.base_url}/auth/sms-code/verify", json={"phone": phone, "code": code}
    )
    assert right.status_code == 401
    assert right.json()["reason"] == "attempts_exhausted"


async def test_an_unknown_number_is_answered_alike_and_gets_no_sms(
    with_sms: RunningService, sms_gateway: FakeGateway
) -> None:
    phone = new_phone()
    answer = await with_sms.http.post(f"{with_sms.base_url}/auth/sms-code", json={"phone": phone})
    assert answer.status_code == 202
    assert answer.json() == {"expires_in": 300, "resend_after": 60}
    assert not [r for r in sms_gateway.received if r.json().get("to") == phone]


async def test_a_number_that_is_not_a_mobile_is_refused_without_being_repeated(
    with_sms: RunningService,
) -> None:
    answer = await with_sms.http.post(f"{with_sms.base_url}/auth/sms-code", json={"phone": "12812345678"})
    assert answer.status_code == 422
    assert "12812345678" not in answer.text


async def test_without_a_gateway_the_development_gateway_prints_the_code_with_the_number_masked(
    notifications: RunningService, capfd: pytest.CaptureFixture[str]
) -> None:
    person, phone = await member_with_phone(notifications)
    capfd.readouterr()
    asked = await notifications.http.post(f"{notifications.base_url}/auth/sms-code", json={"phone": phone})
    assert asked.status_code == 202
    out = capfd.readouterr().out
    assert phone not in out
    line = next(line for line in out.splitlines() if mask_phone(phone) in line)
    code = re.search(r": ([0-9]{6}) ", line)
    assert code is not None
    signed = await notifications.http.post(
        f"{notifications.base_url}/auth/sms-code/verify", json={"phone": phone, "code": code.group(1)}
    )
    assert signed.json()["person_id"] == person


async def test_concurrent_requests_for_one_number_send_one_code_and_refuse_the_rest(
    with_sms: RunningService, sms_gateway: FakeGateway
) -> None:
    _person, phone = await member_with_phone(with_sms)
    answers = await asyncio.gather(
        *(with_sms.http.post(f"{with_sms.base_url}/auth/sms-code", json={"phone": phone}) for _ in range(6))
    )
    assert sorted(a.status_code for a in answers) == [202, 429, 429, 429, 429, 429]
    assert len([r for r in sms_gateway.received if r.json().get("to") == phone]) == 1
