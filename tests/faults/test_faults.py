"""Faults and crowds on a second stack (issue 8): every acknowledged write stored, published and notified
exactly once; no 5xx but a prompt 503. Each scenario adds a row to ``.local/faults-report.json``."""

from __future__ import annotations

import pytest

from tests.faults import scenarios
from tests.faults.harness import Effects, FaultStack, Row

pytestmark = [pytest.mark.faults, pytest.mark.timeout(900)]


def check(row: Row, rows: list[Row]) -> None:
    rows.append(row)
    problems = row.problems()
    assert not problems, f"{row.fault}: {'; '.join(problems)}\n" + "\n".join(row.notes)


async def test_each_service_killed_mid_burst_three_times_loses_and_doubles_nothing(
    stack: FaultStack, effects: Effects, rows: list[Row]
) -> None:
    """org-graph (appointments), resources (requests) and notifications (both, through the other two) are
    each killed three times in the middle of a burst; the three run side by side."""
    found = await scenarios.kill_mid_burst(stack, effects, ("org-graph", "resources", "notifications"))
    rows.extend(found)
    problems = {row.fault: row.problems() for row in found}
    assert not any(problems.values()), problems


@pytest.mark.parametrize("server", ["kafka", "ferretdb", "neo4j"])
async def test_a_store_or_the_broker_down_thirty_seconds_under_steady_writes_loses_nothing_and_answers_503(
    server: str, stack: FaultStack, effects: Effects, rows: list[Row]
) -> None:
    check(await scenarios.server_down(stack, effects, server), rows)


async def test_a_deadline_passing_while_resources_is_killed_is_escalated_once_after_the_restart(
    stack: FaultStack, effects: Effects, rows: list[Row]
) -> None:
    check(await scenarios.sla_across_restart(stack, effects), rows)


async def test_fifty_appointments_to_one_post_and_five_hundred_requests_to_one_grid_all_succeed_exactly_once(
    stack: FaultStack, effects: Effects, rows: list[Row]
) -> None:
    """50 concurrent appointments to one post (each 2xx or a 4xx naming the rule) while 500 requests go to
    one grid, 50 in flight (each 201; the statistics count exactly the stored requests)."""
    found = await scenarios.crowds(stack, effects)
    rows.extend(found)
    problems = {row.fault: row.problems() for row in found}
    assert not any(problems.values()), problems
