"""Hostile input: control characters, personal data in free text and out-of-range numbers are 422s
naming the field; every route's answer is described in the OpenAPI document."""

from __future__ import annotations

import json
from typing import Any

import pytest

from civicgrid_runtime.auth import Role
from tests.integration.notifications import facts
from tests.integration.notifications.harness import RunningService

pytestmark = pytest.mark.integration

COMMUNITY = "420106002003"
BROADCAST = {
    "audience": f"community:{COMMUNITY}",
    "community_code": COMMUNITY,
    "title": "停水通知",
    "body": "明日停水。",
}


async def _broadcast(notifications: RunningService, **changes: Any) -> Any:
    # Sent as raw JSON text so a lone surrogate escape reaches the server as JSON sends it.
    content = json.dumps({**BROADCAST, **changes}, ensure_ascii=True)
    return await notifications.http.post(
        f"{notifications.base_url}/broadcasts",
        content=content,
        headers={
            **notifications.auth(None, Role.COORDINATOR, COMMUNITY),
            "Content-Type": "application/json",
        },
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "停水\u0000通知"),
        ("title", "停水通知\n"),
        ("title", "\u202e知通水停"),
        ("title", "停水\ud800通知"),
        ("body", "明日\u0007停水"),
        ("body", "明日\u001b[31m停水"),
        ("body", "明日\u0085停水"),
        ("link", "https://example.org/a\nb"),
        ("title", "咨询电话13812345678"),
        ("body", "户主身份证420106199001011234请带上"),
        ("link", "https://example.org/contact?tel=13812345678"),
        ("audience", "person:13812345678"),
        ("audience", "post:org-1/420106199001011234"),
    ],
)
async def test_free_text_with_control_characters_or_personal_data_is_refused_naming_the_field(
    notifications: RunningService, field: str, value: str
) -> None:
    answer = await _broadcast(notifications, **{field: value})
    assert answer.status_code == 422
    assert [p["field"] for p in answer.json()["problems"]] == [f"body.{field}"]
    assert "13812345678" not in answer.text
    assert "420106199001011234" not in answer.text


async def test_multi_line_text_keeps_its_line_breaks_and_tabs(notifications: RunningService) -> None:
    answer = await _broadcast(
        notifications, id=facts.uid("bc"), body="明日停水：\n\t9时至12时\r\n请提前储水。"
    )
    assert answer.status_code == 201


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "9223372036854775807"}, "limit"),
        ({"limit": "1e3"}, "limit"),
        ({"cursor": "abc\u0000"}, "cursor"),
        ({"cursor": "x" * 201}, "cursor"),
        ({"category": "notice\u0000"}, "category"),
        ({"category": "a13812345678"}, "category"),
        ({"state": "deleted"}, "state"),
    ],
)
async def test_query_parameters_out_of_their_limits_are_refused_naming_them(
    notifications: RunningService, params: dict[str, str], field: str
) -> None:
    member = facts.uid("p")
    answer = await notifications.http.get(
        f"{notifications.base_url}/members/{member}/feed", params=params, headers=notifications.auth(member)
    )
    assert answer.status_code == 422
    assert field in answer.json()["message"]


async def test_other_bodies_refuse_control_characters_and_bounds_naming_the_field(
    notifications: RunningService,
) -> None:
    member = facts.uid("p")
    base, mine = f"{notifications.base_url}/members/{member}", notifications.auth(member)
    cases: list[tuple[str, str, dict[str, Any], str]] = [
        ("POST", "feed/read-all", {"category": "notice\u0000"}, "body.category"),
        ("PUT", "preferences", {"digest_hour": 24}, "body.digest_hour"),
        ("PUT", "preferences", {"digest_hour": 10**30}, "body.digest_hour"),
        ("PUT", "preferences", {"categories": {"a13812345678": {}}}, "body.categories"),
        (
            "PUT",
            "preferences",
            {"quiet_hours": {"start": "22:00\n", "end": "07:00"}},
            "body.quiet_hours.start",
        ),
        ("PUT", "contacts", {"wechat": "oAbc\u0000def"}, "body.wechat"),
        (
            "POST",
            "push-subscriptions",
            {
                "endpoint": "https://fcm.googleapis.com/fcm/send/a\nb",
                "keys": {"p256dh": "B" * 87, "auth": "a" * 22},
            },
            "body.endpoint",
        ),
    ]
    for method, path, body, field in cases:
        answer = await notifications.http.request(method, f"{base}/{path}", json=body, headers=mine)
        assert answer.status_code == 422, (path, body)
        assert next(p["field"] for p in answer.json()["problems"]).startswith(field), (path, body)


async def test_every_route_describes_its_answers_in_the_openapi_document(
    notifications: RunningService,
) -> None:
    document = (await notifications.http.get(f"{notifications.base_url}/openapi.json")).json()
    undescribed = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                if code in ("204",) or path in ("/healthz", "/readyz"):
                    continue
                content = response.get("content") or {}
                schemas = [c.get("schema") for c in content.values()]
                if not schemas or any(not s for s in schemas):
                    undescribed.append(f"{method.upper()} {path} {code}")
            if not any(c.startswith("2") for c in operation["responses"]):
                undescribed.append(f"{method.upper()} {path}: no success answer")
    assert undescribed == []
