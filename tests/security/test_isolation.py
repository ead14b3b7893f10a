"""The suite's own isolation: what it needs from the services to leave every other stack alone."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.processes import Stack
from tests.security.stack import SERVICES, Region, SecurityStack, supports_topic_suffix


def test_every_service_can_be_given_topics_of_its_own() -> None:
    """Without a topic suffix a test run's service reads and writes the shared topics (issue 9, item 6)."""
    missing = [s for s in SERVICES if not supports_topic_suffix(s)]
    assert not missing, f"services whose settings have no topic_suffix: {missing}"


def test_every_topic_of_a_security_run_is_its_own() -> None:
    built = SecurityStack(Stack("k", "m", "n", Path("keys"), Path("work")), Region())
    own = (built.suffix, built.suffix + ".dlq")
    shared = [t for t in built.run_topics() if not t.endswith(own)]
    assert not shared, f"topics of a security run that other stacks use too: {shared}"
    assert built.service_env("org-graph")["TOPIC_SUFFIX"] == built.suffix
    assert built.service_env("notifications")["TOPIC_SUFFIX"] == built.suffix


def test_the_runs_region_lies_outside_every_real_division() -> None:
    region = Region()
    assert region.district.startswith("9"), "province codes 9x are not assigned to any real division"
    for other in (Region() for _ in range(2000)):
        divisions = (other.province, other.city, other.district_code)
        assert len(set(divisions)) == 3, f"province, city and district must differ: {divisions}"
    assert {region.street_a, region.street_b, region.street_fuzz} == {
        region.district + "002",
        region.district + "087",
        region.district + "099",
    }
    assert region.community_a[:9] == region.street_a
    assert region.community_b[:9] == region.street_b
