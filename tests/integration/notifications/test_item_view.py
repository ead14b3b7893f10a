"""The in-app view of a notice: the request's status from this service's read model, only for its members."""

from __future__ import annotations

import pytest

from civicgrid_runtime.auth import Role
from tests.integration.notifications import facts
from tests.integration.notifications.harness import RunningService, eventually

pytestmark = pytest.mark.integration


async def test_the_resident_reads_the_status_and_steps_of_their_resolved_request_in_the_app(
    notifications: RunningService,
) -> None:
    community, request, resident = facts.new_community(), facts.uid("rq"), facts.uid("re")
    grid = f"{community}001"
    await notifications.kafka.publish(
        facts.request_received(community, request, grid, resident),
        facts.dispatched(community, request, [facts.uid("team")]),
        facts.resolved(community, request),
    )
    [notice] = await notifications.wait_for_feed(resident, 1)
    url = f"{notifications.base_url}/members/{resident}/feed/{notice['id']}"

    async def resolved_view() -> dict[str, object] | None:
        answer = await notifications.http.get(url, headers=notifications.auth(resident))
        assert answer.status_code == 200, answer.text
        view: dict[str, object] = answer.json()
        request_view = view["request"]
        return view if isinstance(request_view, dict) and request_view["status"] == "resolved" else None

    view = await eventually(resolved_view, what="the request's resolved status in the read model")
    assert view["item"]["id"] == notice["id"]
    shown = view["request"]
    assert shown["request_id"] == request
    assert shown["summary"] == "3栋2单元楼道灯不亮"
    assert shown["status_label"] == "已办结"
    assert shown["evaluation_requested"] is True
    assert [s["status"] for s in shown["steps"]] == ["received", "dispatched", "resolved"]
    assert shown["steps"][-1]["note"] == "已更换灯泡"

    other = await notifications.http.get(
        url.replace(resident, facts.uid("other")), headers=notifications.auth(facts.uid("x"))
    )
    assert other.status_code == 403
    stranger = facts.uid("st")
    elsewhere = await notifications.http.get(
        f"{notifications.base_url}/members/{stranger}/feed/{notice['id']}",
        headers=notifications.auth(stranger),
    )
    assert elsewhere.status_code == 404


async def test_a_notice_about_no_request_has_no_request_in_its_view(notifications: RunningService) -> None:
    community, org_id, person = facts.new_community(), facts.uid("org"), facts.uid("p")
    await notifications.kafka.publish(
        facts.organisation(community, org_id), facts.appointed(community, person, org_id)
    )
    [notice] = await notifications.wait_for_feed(person, 1)
    answer = await notifications.http.get(
        f"{notifications.base_url}/members/{person}/feed/{notice['id']}", headers=notifications.auth(person)
    )
    assert answer.status_code == 200
    assert answer.json()["request"] is None
    assert answer.json()["item"]["title"] == "任职通知：楼栋长"
    admin = await notifications.http.get(
        f"{notifications.base_url}/members/{person}/feed/{notice['id']}",
        headers=notifications.auth(role=Role.ADMIN),
    )
    assert admin.status_code == 200
