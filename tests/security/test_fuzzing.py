"""Schemathesis against each service's OpenAPI document: positive and negative data, fixed seeds.

Every case is checked for a server error (5xx), conformance of the answer to the documented response
schema, a documented status code, and (negative data) refusal with a 4xx. Failures are collected, not
raised, so one run sees them all; each check is then one test per service.

Budget: ``TARGET_CASES`` cases per service, stopped after ``BUDGET_SECONDS`` (the figures printed by
``test_fuzzing_reaches_its_case_target_for_each_service`` tell the rate measured on this machine).
Calls use a coordinator of the run's district in org-graph (whose Neo4j is shared: writes stay inside
the run's own region), an admin in resources, in notifications the fuzzed member's own token for
``/members/...`` (an admin elsewhere), and in deliberation the fuzzing person (an owner of the fuzzing
compound) for ballots, supports, grades and ``/me/...``, the district's coordinator elsewhere. Half
the cases use ids of real objects of the run's fuzzing street for path parameters, so generated bodies
reach the use cases and not only the 404s.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import hypothesis.errors
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from civicgrid_runtime.auth import Role
from tests.security.matrix import MATRIX
from tests.security.world import START, Api, World

TARGET_CASES = int(os.environ.get("CIVICGRID_FUZZ_CASES", "3000"))
BUDGET_SECONDS = float(os.environ.get("CIVICGRID_FUZZ_SECONDS", "200"))
SEED = 20261202
WORKERS = 4
"""Calls in flight while the next cases are generated (generation is CPU-bound, the services are not
in this process)."""
PERSONAL_ACTS = ("/ballots", "/support", "/grades")
"""deliberation's routes that only a token naming a person may call (and ``/me/...``)."""
NOT_FUZZED = {"GET /members/{member_id}/stream": "a live stream answers forever to a valid call"}
CHECKS: dict[str, Callable[..., Any]] = {
    "server_error": not_a_server_error,
    "response_schema": response_schema_conformance,
    "status_documented": status_code_conformance,
    "negative_refused": negative_data_rejection,
}


@dataclass
class FuzzRun:
    service: str
    cases: int = 0
    submitted: int = 0
    seconds: float = 0.0
    per_route: Counter[str] = field(default_factory=Counter)
    failures: dict[str, dict[str, str]] = field(default_factory=lambda: {name: {} for name in CHECKS})
    """check → route → the first failure seen (status and a reproduction)."""
    statuses: Counter[int] = field(default_factory=Counter)
    not_generated: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(WORKERS * 2)
    )
    """Backpressure: generation waits while this many calls are queued or running."""

    @property
    def rate(self) -> float:
        return self.cases / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        return (
            f"{self.service}: {self.cases} cases in {self.seconds:.0f} s ({self.rate:.1f}/s) over "
            f"{len(self.per_route)} routes; statuses {dict(sorted(self.statuses.items()))}"
        )


@dataclass
class Target:
    url: str
    token_for: Callable[[str], str]
    known: dict[str, list[str]]


async def fuzz_objects(world: World) -> dict[str, dict[str, list[str]]]:
    """Objects of the fuzzing street (community ``community_fuzz``) whose ids feed path parameters."""
    community = world.region.community_fuzz
    compound, building, grid = f"{community}-C01", f"{community}-C01-B01", f"{community}001"
    await world.og(
        "POST",
        "/places",
        json={"kind": "compound", "code": compound, "name": "测小区", "parent_code": community},
    )
    await world.og(
        "POST",
        "/places",
        json={"kind": "building", "code": building, "name": "测楼", "parent_code": compound},
    )
    await world.og("POST", "/grids", json={"grid_id": grid, "name": "测网格", "building_codes": [building]})
    org = f"sec{world.tag}-fuzz-org"
    await world.og(
        "POST",
        "/organisations",
        json={"org_id": org, "kind": "party_committee", "place_code": community, "name": "测党委"},
    )
    person = f"sec{world.tag}-fuzz-person"
    await world.og(
        "POST", "/people", json={"person_id": person, "display_name": "测人", "community_code": community}
    )
    made = await world.og(
        "POST",
        "/memberships",
        json={
            "person_id": person,
            "org_id": org,
            "post": "committee_member",
            "start_date": START,
            "basis": "election",
            "basis_reference": "选举",
        },
    )
    await world.wait_for_grid(grid)
    resource = f"sec{world.tag}-fuzz-res"
    await world.report_in(resource, community, person, grid)
    team = await world.rs(
        "POST", "/teams", json={"grid_id": grid, "name": "测团队", "leader_resource_id": resource}
    )
    need = f"sec{world.tag}-fuzz-need"
    await world.rs(
        "POST", "/needs", json={"need_id": need, "community_code": community, "title": "测需求", "slots": 100}
    )
    offer = f"sec{world.tag}-fuzz-offer"
    await world.rs(
        "POST",
        "/offers",
        json={"offer_id": offer, "resource_id": resource, "kind": "resource", "title": "测"},
    )
    request = f"sec{world.tag}-fuzz-req"
    await world.rs(
        "POST",
        "/requests",
        json={
            "request_id": request,
            "community_code": community,
            "kind": "help",
            "category": "测试",
            "summary": "测试诉求",
            "grid_id": grid,
            "resident_person_id": person,
        },
    )
    deliberation = await deliberation_objects(world, person, compound, building, community)
    page = await world.api.ok(
        "notifications", "GET", f"/members/{person}/feed", world.api.token(Role.MEMBER, person_id=person)
    )
    items = [i["id"] for i in page["items"]]
    return {
        "org-graph": {
            "code": [community, compound, building, world.region.street_fuzz],
            "grid_id": [grid],
            "org_id": [org],
            "person_id": [person],
            "post_id": [made["post_id"]],
            "membership_id": [made["membership_id"]],
            "metric": ["buildings_without_grid", "compounds_without_party_organisation"],
        },
        "resources": {
            "request_id": [request],
            "resource_id": [resource],
            "grid_id": [grid],
            "person_id": [person],
            "community_code": [community],
            "team_id": [team["id"]],
            "need_id": [need],
            "offer_id": [offer],
            "claim_id": ["claim-none"],
        },
        "notifications": {"member_id": [person], "item_id": items or ["none"], "broadcast_id": ["none"]},
        "deliberation": deliberation,
    }


async def deliberation_objects(
    world: World, person: str, compound: str, building: str, community: str
) -> dict[str, list[str]]:
    """The fuzzing person owns a household of the fuzzing compound, holds a post that a decision hearing
    invites, and is both subject and appraiser of an appraisal: a meeting, a topic, a vote of theirs."""
    await world.og(
        "POST",
        "/households",
        json={
            "building_code": building,
            "entrance": "1",
            "unit_number": "101",
            "exclusive_area_m2": 80.0,
            "owner_person_ids": [person],
            "resident_person_ids": [person],
        },
    )
    await world.until_deliberation_knows(person, compound)
    meeting = await world.convene_with(person, world.meeting_body(community))
    token = world.api.token(Role.MEMBER, person_id=person, subject=person)
    topic = await world.api.ok(
        "deliberation", "POST", "/topics", token, json={"place_code": compound, "title": "测议题"}
    )
    vote = await world.dl("POST", "/votes", json=world.vote_body(compound))
    appraisal = await world.dl(
        "POST",
        "/appraisals",
        json={
            "community_code": community,
            "title": "测评议",
            "subject_person_ids": [person],
            "appraiser_person_ids": [person],
        },
    )
    return {
        "meeting_id": [meeting["meeting_id"]],
        "topic_id": [topic["topic_id"]],
        "vote_id": [vote["vote_id"]],
        "appraisal_id": [appraisal["appraisal_id"]],
        "compound_code": [compound],
        "place_code": [community, compound],
    }


def targets(api: Api, world: World, known: dict[str, dict[str, list[str]]]) -> dict[str, Target]:
    person = known["notifications"]["member_id"][0]
    district = world.api.token(Role.COORDINATOR, region=world.region.district, subject="sec-fuzz-district")
    admin = world.admin
    member = world.api.token(Role.MEMBER, person_id=person, subject=person)
    return {
        "org-graph": Target(api.urls["org-graph"], lambda path: district, known["org-graph"]),
        "resources": Target(api.urls["resources"], lambda path: admin, known["resources"]),
        "notifications": Target(
            api.urls["notifications"],
            lambda path: member if path.startswith("/members/") else admin,
            known["notifications"],
        ),
        # a person's own acts (ballots, support, grades) as the fuzzing person; the rest as a
        # coordinator of the run's district (writes stay inside the run's region)
        "deliberation": Target(
            api.urls["deliberation"],
            lambda path: member if path.endswith(PERSONAL_ACTS) or path.startswith("/me/") else district,
            known["deliberation"],
        ),
    }


def reproduce(case: Any, status: int) -> str:
    body = case.body if not isinstance(case.body, bytes | bytearray) else f"<{len(case.body)} bytes>"
    return f"{status}: {case.method} {case.formatted_path} query={case.query} body={str(body)[:200]!r}"


_sessions = threading.local()


def session() -> requests.Session:
    if not hasattr(_sessions, "session"):
        _sessions.session = requests.Session()
    found: requests.Session = _sessions.session
    return found


def run_case(run: FuzzRun, route: str, case: Any, target: Target) -> None:
    """Call and check one case (in a worker thread: generation goes on meanwhile)."""
    try:
        call_and_check(run, route, case, target)
    finally:
        run.in_flight.release()


def call_and_check(run: FuzzRun, route: str, case: Any, target: Target) -> None:
    headers = {"Authorization": f"Bearer {target.token_for(case.path)}"}
    try:
        response = case.call(base_url=target.url, session=session(), headers=headers, timeout=30)
    except requests.RequestException as error:
        with run.lock:
            run.failures["server_error"].setdefault(
                route, f"no answer ({type(error).__name__}): {case.method} {case.formatted_path}"
            )
        return
    with run.lock:
        run.cases += 1
        run.per_route[route] += 1
        run.statuses[response.status_code] += 1
    for name, check in CHECKS.items():
        if (
            name == "negative_refused"
            and case.meta is not None
            and "negative" not in str(case.meta.generation.mode).lower()
        ):
            continue
        try:
            case.validate_response(response, checks=[check], headers=headers)
        except (Exception, BaseExceptionGroup) as error:  # a Failure or a FailureGroup naming what broke
            detail = " ".join(str(error).strip().splitlines()[:3])[:300]
            with run.lock:
                run.failures[name].setdefault(
                    route, f"{reproduce(case, response.status_code)}\n      {detail}"
                )


def strategy_for(operation: Any, target: Target, mode: schemathesis.GenerationMode) -> st.SearchStrategy[Any]:
    default: st.SearchStrategy[Any] = operation.as_strategy(generation_mode=mode)
    names = [p.name for p in operation.path_parameters] if hasattr(operation, "path_parameters") else []
    if not names or not all(n in target.known for n in names):
        return default
    pinned = st.fixed_dictionaries({n: st.sampled_from(target.known[n]) for n in names}).flatmap(
        lambda values: operation.as_strategy(generation_mode=mode, path_parameters=values)
    )
    combined: st.SearchStrategy[Any] = st.one_of(default, pinned)
    return combined


def one_test(
    run: FuzzRun,
    route: str,
    strategy: st.SearchStrategy[Any],
    target: Target,
    pool: ThreadPoolExecutor,
    examples: int,
    attempt: int,
) -> Callable[[], None]:
    @hypothesis.seed(SEED + attempt)
    @hypothesis.settings(
        max_examples=examples,
        phases=[Phase.generate],
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=strategy)
    def test(case: Any) -> None:
        run.in_flight.acquire()
        run.submitted += 1
        pool.submit(run_case, run, route, case, target)

    return test


def can_be_negative(document: dict[str, Any], path: str, method: str) -> bool:
    """Whether invalid data exists for an operation at all (a body, a query parameter, or a path
    parameter with a constraint); asking Hypothesis for negative cases of the others only burns time
    until it gives up."""
    operation = document["paths"][path][method.lower()]
    if "requestBody" in operation:
        return True
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        if parameter.get("in") == "query":
            return True
        if schema.get("type", "string") != "string" or {"pattern", "enum", "maxLength", "minLength"} & set(
            schema
        ):
            return True
    return False


def fuzz(service: str, target: Target) -> FuzzRun:
    document = requests.get(f"{target.url}/openapi.json", timeout=120).json()
    schema = schemathesis.openapi.from_dict(document)
    # the callers' tokens are ours to choose: generated (or removed) Authorization headers would only
    # test the bearer dependency, which the matrix covers
    schema.config.generation.update(with_security_parameters=False)
    run = FuzzRun(service)
    operations = []
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            run.failures["response_schema"].setdefault(
                "(document)", f"an operation cannot be read: {result!r}"[:300]
            )
            continue
        operation = result.ok()
        route = f"{operation.method.upper()} {operation.path}"
        if route not in NOT_FUZZED:
            negative = can_be_negative(document, operation.path, operation.method)
            operations.append((route, operation, negative))
    pool = ThreadPoolExecutor(max_workers=WORKERS)
    started = time.monotonic()
    modes = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
    per_operation = max(10, TARGET_CASES // (len(operations) * len(modes)) + 1)
    attempt = 0
    while run.submitted < TARGET_CASES and time.monotonic() - started < BUDGET_SECONDS and attempt < 8:
        for route, operation, negative in operations:
            for mode in modes if negative else modes[:1]:
                if run.submitted >= TARGET_CASES or time.monotonic() - started >= BUDGET_SECONDS:
                    break
                test = one_test(
                    run, route, strategy_for(operation, target, mode), target, pool, per_operation, attempt
                )
                try:
                    test()
                except hypothesis.errors.Unsatisfiable:
                    pass  # every value of a parameter-less operation was already tried
                except Exception as error:  # generation itself failed for this operation
                    run.not_generated.setdefault(route, f"{error!r}"[:300])
        attempt += 1
    pool.shutdown(wait=True)
    run.seconds = time.monotonic() - started
    return run


_runs: dict[str, FuzzRun] = {}


@pytest.fixture(scope="module")
async def fuzz_targets(api: Api, world: World) -> dict[str, Target]:
    return targets(api, world, await fuzz_objects(world))


async def fuzz_run(service: str, fuzz_targets: dict[str, Target]) -> FuzzRun:
    import asyncio

    if service not in _runs:
        _runs[service] = await asyncio.to_thread(fuzz, service, fuzz_targets[service])
        print(_runs[service].summary())
    return _runs[service]


def report(run: FuzzRun, check: str) -> str:
    found = run.failures[check]
    lines = [f"  {route}\n      {detail}" for route, detail in sorted(found.items())]
    return f"{run.summary()}\n{len(found)} routes fail {check}:\n" + "\n".join(lines)


SERVICES = list(MATRIX)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("service", SERVICES)
async def test_fuzzed_requests_never_get_a_server_error(
    service: str, fuzz_targets: dict[str, Target]
) -> None:
    run = await fuzz_run(service, fuzz_targets)
    assert not run.failures["server_error"], report(run, "server_error")


@pytest.mark.parametrize("service", SERVICES)
async def test_every_fuzzed_answer_matches_its_documented_response_schema(
    service: str, fuzz_targets: dict[str, Target]
) -> None:
    run = await fuzz_run(service, fuzz_targets)
    assert not run.failures["response_schema"], report(run, "response_schema")


@pytest.mark.parametrize("service", SERVICES)
async def test_every_status_a_route_answers_is_documented(
    service: str, fuzz_targets: dict[str, Target]
) -> None:
    run = await fuzz_run(service, fuzz_targets)
    assert not run.failures["status_documented"], report(run, "status_documented")


@pytest.mark.parametrize("service", SERVICES)
async def test_invalid_requests_are_refused_with_a_client_error(
    service: str, fuzz_targets: dict[str, Target]
) -> None:
    run = await fuzz_run(service, fuzz_targets)
    assert not run.failures["negative_refused"], report(run, "negative_refused")


@pytest.mark.parametrize("service", SERVICES)
async def test_fuzzing_reaches_its_case_target_for_each_service(
    service: str, fuzz_targets: dict[str, Target]
) -> None:
    run = await fuzz_run(service, fuzz_targets)
    assert run.cases >= TARGET_CASES, (
        f"only {run.summary()} (target {TARGET_CASES} in {BUDGET_SECONDS:.0f} s)"
    )
