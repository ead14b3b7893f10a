"""Facts on Kafka become entries in the right members' feeds, once, readable only by their owner."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import AsyncMongoClient

from civicgrid_runtime.auth import Role
from tests.integration.notifications import facts
from tests.integration.notifications.harness import RunningService, eventually

pytestmark = pytest.mark.integration


async def test_an_appointment_reaches_the_appointed_persons_feed_once_however_often_it_is_redelivered(
    notifications: RunningService,
) -> None:
    community, org_id, person = facts.new_community(), facts.uid("org"), facts.uid("p")
    appointment = facts.appointed(community, person, org_id)
    await notifications.kafka.publish(facts.organisation(community, org_id, "中和社区居民委员会"))
    await notifications.kafka.publish(appointment, appointment, appointment)
    later = facts.appointed(community, person, org_id, post="grid_leader")
    await notifications.kafka.publish(later, appointment)

    items = await notifications.wait_for_feed(person, 2)
    titles = sorted(i["title"] for i in items)
    assert titles == ["任职通知：楼栋长", "任职通知：网格长"]
    assert all(i["state"] == "unseen" and i["category"] == "appointment" for i in items)
    assert all("2025年居委会换届选举" in i["body"] for i in items)
    page = await notifications.feed(person)
    assert page["unread"] == 2


async def test_a_request_dispatched_to_a_team_reaches_each_team_member_and_an_escalation_the_coordinators(
    notifications: RunningService,
) -> None:
    community, org_id = facts.new_community(), facts.uid("org")
    grid, team, request = f"{community}001", facts.uid("team"), facts.uid("req")
    worker_a, worker_b, coordinator, resident = (facts.uid(p) for p in ("wa", "wb", "co", "re"))
    k = notifications.kafka
    await k.publish(
        facts.organisation(community, org_id), facts.appointed(community, coordinator, org_id, "secretary")
    )
    await k.publish(
        facts.reported_in(community, "res-a-" + team, worker_a, "王志愿"),
        facts.reported_in(community, "res-b-" + team, worker_b, "李志愿"),
        facts.team_formed(community, team, grid),
        facts.team_member(community, team, "res-a-" + team),
        facts.team_member(community, team, "res-b-" + team),
    )
    for worker in (worker_a, worker_b):  # the team exists (its members were told) before the dispatch
        await notifications.wait_for_feed(worker, 1)
    await k.publish(facts.request_received(community, request, grid, resident))
    await k.publish(facts.dispatched(community, request, [team]))
    for worker in (worker_a, worker_b):
        items = await notifications.wait_for_feed(worker, 2)
        dispatch = next(i for i in items if i["title"].startswith("新派单"))
        assert dispatch["body"].startswith("3栋2单元楼道灯不亮")
        assert dispatch["priority"] == "high"
        assert dispatch["link"].endswith(f"/requests/{request}")

    await k.publish(facts.escalated(community, request), facts.resolved(community, request))
    escalation = (await notifications.wait_for_feed(coordinator, 2))[0]
    assert escalation["title"] == "诉求升级督办：楼道照明"
    assert "超时未办结" in escalation["body"]
    evaluation = (await notifications.wait_for_feed(resident, 1))[0]
    assert evaluation["title"] == "您的诉求已办结，请评价"
    assert evaluation["link"].endswith(f"/requests/{request}/evaluation")


async def test_a_member_cannot_read_or_change_another_members_feed_whatever_id_is_in_the_url(
    notifications: RunningService,
) -> None:
    community, org_id, owner, intruder = (
        facts.new_community(),
        facts.uid("org"),
        facts.uid("o"),
        facts.uid("i"),
    )
    await notifications.kafka.publish(
        facts.organisation(community, org_id), facts.appointed(community, owner, org_id)
    )
    entry = (await notifications.wait_for_feed(owner, 1))[0]
    http, base, theirs = notifications.http, notifications.base_url, notifications.auth(intruder)

    for path in ("feed", "unread-count", "stream", "preferences", f"feed/{entry['id']}/deliveries"):
        response = await http.get(f"{base}/members/{owner}/{path}", headers=theirs)
        assert response.status_code == 403, path
    marked = await http.post(
        f"{base}/members/{owner}/feed/{entry['id']}/state", json={"state": "read"}, headers=theirs
    )
    assert marked.status_code == 403
    own_url = await http.post(
        f"{base}/members/{intruder}/feed/{entry['id']}/state", json={"state": "read"}, headers=theirs
    )
    assert own_url.status_code == 404
    coordinator = notifications.auth(None, Role.COORDINATOR, region=community)
    assert (await http.get(f"{base}/members/{owner}/feed", headers=coordinator)).status_code == 403
    assert (await http.get(f"{base}/members/{owner}/feed")).status_code == 401
    assert (await notifications.feed(owner))["items"][0]["state"] == "unseen"


async def test_the_feed_pages_newest_first_by_cursor_without_gaps_or_repeats_and_filters_by_category(
    notifications: RunningService,
) -> None:
    community, org_id, person = facts.new_community(), facts.uid("org"), facts.uid("p")
    await notifications.kafka.publish(facts.organisation(community, org_id))
    await notifications.kafka.publish(*(facts.appointed(community, person, org_id) for _ in range(25)))
    await notifications.kafka.publish(facts.reported_in(community, facts.uid("r"), person, "本人"))
    everything = await notifications.wait_for_feed(person, 25)

    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 10, **({"cursor": cursor} if cursor else {})}
        page = await notifications.feed(person, **params)
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [i["id"] for i in everything]
    assert len(set(seen)) == 25
    stamps = [i["created_at"] for i in everything]
    assert stamps == sorted(stamps, reverse=True)
    assert (await notifications.feed(person, category="team"))["items"] == []


async def test_marking_moves_state_forward_only_and_read_all_clears_the_badge(
    notifications: RunningService,
) -> None:
    community, org_id, person = facts.new_community(), facts.uid("org"), facts.uid("p")
    await notifications.kafka.publish(facts.organisation(community, org_id))
    await notifications.kafka.publish(*(facts.appointed(community, person, org_id) for _ in range(3)))
    items = await notifications.wait_for_feed(person, 3)
    http, base, mine = notifications.http, notifications.base_url, notifications.auth(person)
    url = f"{base}/members/{person}/feed/{items[0]['id']}/state"

    assert (await http.post(url, json={"state": "read"}, headers=mine)).json()["state"] == "read"
    back = await http.post(url, json={"state": "seen"}, headers=mine)
    assert back.status_code == 409
    assert back.json()["allowed"] == ["read", "archived"]
    bad = await http.post(url, json={"state": "gone"}, headers=mine)
    assert bad.status_code == 422
    assert "state" in bad.json()["message"]
    assert (await http.get(f"{base}/members/{person}/unread-count", headers=mine)).json() == {"unread": 2}

    cleared = await http.post(f"{base}/members/{person}/feed/read-all", json={}, headers=mine)
    assert cleared.json() == {"changed": 2}
    assert (await http.get(f"{base}/members/{person}/unread-count", headers=mine)).json() == {"unread": 0}
    archived = await http.post(url, json={"state": "archived"}, headers=mine)
    assert archived.json()["state"] == "archived"
    assert len((await notifications.feed(person))["items"]) == 2
    assert len((await notifications.feed(person, state="archived"))["items"]) == 1


async def test_a_cursor_the_service_did_not_issue_is_rejected_with_a_message(
    notifications: RunningService,
) -> None:
    person = facts.uid("p")
    response = await notifications.http.get(
        f"{notifications.base_url}/members/{person}/feed",
        params={"cursor": "not-a-cursor"},
        headers=notifications.auth(person),
    )
    assert response.status_code == 422
    assert "cursor" in response.json()["message"]


async def test_a_dispatch_that_arrives_before_its_team_is_known_reaches_the_members_once_they_are(
    notifications: RunningService, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    community, team, request = facts.new_community(), facts.uid("team"), facts.uid("req")
    grid = f"{community}002"
    worker_a, worker_b = facts.uid("wa"), facts.uid("wb")
    k = notifications.kafka
    await k.publish(facts.request_received(community, request, grid, None))
    await k.publish(facts.dispatched(community, request, [team]))
    deferred = mongo_client[notifications.settings.mongo_database]["deferred"]

    async def waiting() -> bool:
        return await deferred.count_documents({"waiting_for": team}) == 1

    await eventually(waiting, what="the dispatch to wait for its team")
    await k.publish(
        facts.reported_in(community, "res-a-" + team, worker_a, "王志愿"),
        facts.reported_in(community, "res-b-" + team, worker_b, "李志愿"),
        facts.team_formed(community, team, grid),
        facts.team_member(community, team, "res-a-" + team),
        facts.team_member(community, team, "res-b-" + team),
    )
    for worker in (worker_a, worker_b):
        items = await notifications.wait_for_feed(worker, 2)
        assert sorted(i["title"].split("：")[0] for i in items) == ["加入服务团队", "新派单"]
