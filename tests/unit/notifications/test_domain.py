"""Feed states, audiences, templates, rules, preferences and backoff: plain Python, no servers."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from civicgrid_notifications.domain.delivery import DeliveryStatus, after_failure, backoff_seconds
from civicgrid_notifications.domain.model import (
    Audience,
    AudienceKind,
    FeedState,
    Priority,
    entry_id,
    next_state,
)
from civicgrid_notifications.domain.preferences import (
    CategoryPreference,
    Preferences,
    QuietHours,
    plan_deliveries,
)
from civicgrid_notifications.domain.rules import load_default_rulebook, parse_rulebook
from civicgrid_notifications.domain.templates import render
from civicgrid_runtime.errors import IllegalTransition, InvalidInput

ALL = frozenset({"web_push", "sms", "wechat"})


def test_a_state_moves_forward_and_repeating_it_changes_nothing() -> None:
    assert next_state(FeedState.UNSEEN, FeedState.READ) is FeedState.READ
    assert next_state(FeedState.READ, FeedState.READ) is FeedState.READ
    assert next_state(FeedState.READ, FeedState.ARCHIVED) is FeedState.ARCHIVED


def test_a_read_entry_cannot_become_seen_again_and_the_error_lists_what_is_allowed() -> None:
    with pytest.raises(IllegalTransition) as error:
        next_state(FeedState.READ, FeedState.SEEN)
    assert error.value.details["allowed"] == ["read", "archived"]
    with pytest.raises(IllegalTransition):
        next_state(FeedState.SEEN, FeedState.UNSEEN)


def test_the_same_member_event_and_rule_always_give_the_same_entry_id() -> None:
    assert entry_id("p1", "e1", "appointed") == entry_id("p1", "e1", "appointed")
    assert (
        len({entry_id("p1", "e1", "appointed"), entry_id("p2", "e1", "appointed"), entry_id("p1", "e1", "x")})
        == 3
    )


def test_an_audience_key_round_trips_and_an_unknown_kind_is_named_in_the_error() -> None:
    audience = Audience.parse("street:420106002")
    assert (audience.kind, audience.code, audience.key) == (
        AudienceKind.STREET,
        "420106002",
        "street:420106002",
    )
    with pytest.raises(InvalidInput, match="planet"):
        Audience.parse("planet:earth")


def test_a_template_with_a_missing_value_renders_a_dash_instead_of_failing() -> None:
    assert render("{post_label}：{missing}", {"post_label": "楼栋长"}) == "楼栋长：—"


def test_the_default_rules_cover_the_journeys_events_with_chinese_text() -> None:
    book = load_default_rulebook()
    names = {r.name for r in book.rules}
    assert {"appointed", "term_ended", "request_dispatched", "request_escalated", "request_resolved"} <= names
    message = book.for_event("cn.civicgrid.org.membership.started.v1")[0].message(
        {
            "post_label": "楼栋长",
            "org_name": "中和社区居委会",
            "start_date": "2025-07-01",
            "basis_reference": "选举",
        }
    )
    assert message.title == "任职通知：楼栋长"
    assert message.body == "您已于2025-07-01起担任中和社区居委会楼栋长（依据：选举）。"


def test_two_rules_with_one_name_are_refused_because_the_name_is_part_of_the_idempotency_key() -> None:
    rule = {
        "name": "x",
        "event_type": "t",
        "recipients": "membership_person",
        "category": "c",
        "title": "",
        "body": "",
    }
    with pytest.raises(ValueError, match="unique"):
        parse_rulebook({"rules": [rule, rule]})


def test_quiet_hours_across_midnight_defer_a_normal_push_to_the_morning() -> None:
    night = datetime(2025, 7, 1, 15, 30, tzinfo=UTC)  # 23:30 in Wuhan
    prefs = Preferences(channels=("web_push",), quiet_hours=QuietHours.parse("22:00", "07:00"))
    [plan] = plan_deliveries(prefs, "request", Priority.NORMAL, ALL, night)
    assert plan.not_before == datetime(2025, 7, 1, 23, 0, tzinfo=UTC)  # 07:00 in Wuhan


def test_a_critical_notice_ignores_quiet_hours_and_opt_outs_on_every_available_channel() -> None:
    night = datetime(2025, 7, 1, 15, 30, tzinfo=UTC)
    prefs = Preferences(
        channels=(),
        categories={"notice": CategoryPreference(enabled=False)},
        quiet_hours=QuietHours.parse("22:00", "07:00"),
    )
    plans = plan_deliveries(prefs, "notice", Priority.CRITICAL, frozenset({"web_push", "sms"}), night)
    assert [(p.channel, p.not_before) for p in plans] == [("web_push", night), ("sms", night)]


def test_an_opted_out_category_gets_no_push_and_a_low_priority_digest_waits_for_the_digest_hour() -> None:
    noon = datetime(2025, 7, 1, 4, 0, tzinfo=UTC)  # 12:00 in Wuhan
    prefs = Preferences(
        categories={"team": CategoryPreference(digest=True), "request": CategoryPreference(enabled=False)}
    )
    assert plan_deliveries(prefs, "request", Priority.HIGH, ALL, noon) == []
    [digest] = plan_deliveries(prefs, "team", Priority.LOW, ALL, noon)
    assert digest.digest
    assert digest.not_before == datetime(2025, 7, 1, 12, 0, tzinfo=UTC)  # 20:00 in Wuhan
    assert plan_deliveries(prefs, "team", Priority.LOW, frozenset(), noon) == []


def test_backoff_grows_exponentially_stays_under_the_cap_and_is_jittered() -> None:
    rng = random.Random(7)
    delays = [backoff_seconds(n, 1.0, 60.0, rng) for n in range(1, 10)]
    assert all(1.0 <= d <= min(60.0, 2 ** (n - 1)) for n, d in zip(range(1, 10), delays, strict=True))
    assert len({round(backoff_seconds(5, 1.0, 60.0, rng), 6) for _ in range(20)}) > 1
    with pytest.raises(ValueError, match="attempt"):
        backoff_seconds(0, 1.0, 60.0)


def test_a_failure_is_retried_until_the_attempts_run_out_or_at_once_final_when_permanent() -> None:
    assert after_failure(1, 3, permanent=False) is DeliveryStatus.QUEUED
    assert after_failure(3, 3, permanent=False) is DeliveryStatus.FAILED
    assert after_failure(1, 3, permanent=True) is DeliveryStatus.FAILED
