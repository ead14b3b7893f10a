"""A crowd at one grid: every request taken, none refused, and the dashboards count exactly what is stored."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import httpx
import pytest

from civicgrid_resources.adapters.statistics import COUNTERS, counters_of
from civicgrid_resources.service_layer.ids import new_id
from tests.integration.resources.conftest import STREET, Running, running
from tests.support.kafka import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

IN_FLIGHT = 50


async def _at_most(in_flight: int, calls: list[Any]) -> list[httpx.Response]:
    gate = asyncio.Semaphore(in_flight)

    async def one(call: Any) -> httpx.Response:
        async with gate:
            response: httpx.Response = await call()
            return response

    return await asyncio.gather(*(one(c) for c in calls))


async def _figures(service: Running, grid: str) -> dict[str, Any]:
    r = await service.client.get(f"/supervision/rates?region={grid}&group_by=grid", headers=service.auth())
    assert r.status_code == 200, r.text
    [row] = r.json()["groups"]
    return dict(row)


async def _stored(service: Running, grid: str) -> dict[str, int]:
    """The same figures counted from the request documents themselves."""
    sums = dict.fromkeys(COUNTERS, 0)
    async for doc in service.store.requests.collection.find({"grid_id": grid}, {"outbox": 0, "timeline": 0}):
        for name, value in counters_of(doc).items():
            sums[name] += value
    return sums


def _same(figures: dict[str, Any], stored: dict[str, int]) -> bool:
    return (figures["total"], figures["open"], figures["escalated"], figures["response_rate"]) == (
        stored["total"],
        stored["open"],
        stored["escalated"],
        round(stored["responded"] / stored["total"], 4),
    )


async def test_five_hundred_requests_posted_at_once_to_one_grid_are_all_taken_and_counted_exactly(
    service: Running, community: str
) -> None:
    grid = community + "001"
    await service.seed_places(community, {grid: []})
    h = service.auth()
    body = {
        "community_code": community,
        "grid_id": grid,
        "kind": "help",
        "category": "repairs",
        "summary": "门禁",
    }

    def post() -> Any:
        return lambda: service.client.post("/requests", json={**body, "request_id": new_id("req")}, headers=h)

    started = time.perf_counter()
    created = await _at_most(IN_FLIGHT, [post() for _ in range(500)])
    seconds = time.perf_counter() - started
    print(f"500 POST /requests, {IN_FLIGHT} in flight: {seconds:.1f} s, {500 / seconds:.1f} requests/s")
    assert Counter(r.status_code for r in created) == {201: 500}, [
        r.text for r in created if r.status_code != 201
    ][:3]

    stored = await _stored(service, grid)
    assert stored["total"] == 500
    figures = await _figures(service, grid)
    assert (figures["total"], figures["open"]) == (500, 500)

    # Half of them are accepted at once, while a coordinator escalates fifty others.
    ids = [r.json()["id"] for r in created]
    changes = [
        (lambda i=i: service.client.post(f"/requests/{i}/accept", json={}, headers=h)) for i in ids[:250]
    ] + [
        (lambda i=i: service.client.post(f"/requests/{i}/escalate", json={"note": "超出权限"}, headers=h))
        for i in ids[250:300]
    ]
    changed = await _at_most(IN_FLIGHT, changes)
    assert Counter(r.status_code for r in changed) == {200: 300}

    stored = await _stored(service, grid)
    assert (stored["responded"], stored["escalated"]) == (250, 50)
    assert _same(await _figures(service, grid), stored)

    # Once the folder has compacted what the writes recorded, the buckets alone say the same.
    journal = service.store.statistics.journal

    async def folded() -> bool:
        return await journal.find_one({"parts.place.grid_id": grid}) is None

    assert await wait_for(folded, timeout=120)
    assert _same(await _figures(service, grid), stored)


class DiesOnSecondUpdate:
    """The buckets of a folder that dies after writing its first bucket."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.updates = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    async def update_one(self, *args: Any, **kwargs: Any) -> Any:
        self.updates += 1
        if self.updates == 2:
            raise ConnectionError("the folder died between two buckets")
        return await self._real.update_one(*args, **kwargs)


async def test_a_folder_that_dies_half_way_leaves_the_figures_exact_and_the_next_fold_finishes_it(
    make_settings: Any, mongo_client: Any
) -> None:
    settings = make_settings(statistics_fold_interval_seconds=3600)  # this test folds by hand
    async with running(settings) as service:
        community = f"{STREET}777"
        a, b = community + "001", community + "002"
        await service.seed_places(community, {a: [], b: []})
        h = service.auth()
        body = {"community_code": community, "kind": "help", "category": "repairs", "summary": "门禁"}
        ids = []
        for grid in (a, a, a, a, b, b):
            r = await service.client.post("/requests", json={**body, "grid_id": grid}, headers=h)
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        for request_id in ids[:2]:  # moved: one journal entry leaves a, the same entry enters b
            r = await service.client.post(f"/requests/{request_id}/move", json={"grid_id": b}, headers=h)
            assert r.status_code == 200, r.text
        assert (
            await service.client.post(f"/requests/{ids[5]}/accept", json={}, headers=h)
        ).status_code == 200

        async def by_grid() -> dict[str, tuple[int, int, float | None]]:
            r = await service.client.get(f"/supervision/rates?region={community}&group_by=grid", headers=h)
            return {g["grid"]: (g["total"], g["open"], g["response_rate"]) for g in r.json()["groups"]}

        expected = {a: (2, 2, 0.0), b: (4, 4, 0.25)}
        assert await by_grid() == expected
        statistics = service.store.statistics
        real = statistics.collection
        statistics.collection = DiesOnSecondUpdate(real)  # type: ignore[assignment]
        try:
            with pytest.raises(ConnectionError):
                await statistics.fold()
        finally:
            statistics.collection = real
        assert await by_grid() == expected, "half a fold counts nothing twice and loses nothing"
        assert await statistics.fold() > 0
        assert await statistics.journal.find_one({"parts.place.community_code": community}) is None
        assert await by_grid() == expected
    await mongo_client.drop_database(settings.mongo_database)
