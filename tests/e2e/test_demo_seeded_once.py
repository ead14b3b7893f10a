"""``./civicgrid up`` seeds the demo once: up again, or after a service was stopped, changes no data."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path

import httpx
import pytest

from civicgrid_orggraph.entrypoints.consumers import POPULATION_TOPIC
from civicgrid_runtime.auth import Role, TokenIssuer
from deploy.local.config import Settings
from deploy.stack import demo, demo_orggraph, services
from deploy.stack.__main__ import start_services
from tests.e2e.processes import free_port, start_group_at_end
from tests.support.servers import Servers

pytestmark = pytest.mark.e2e

BUILDING = "420106002003-C01-B07"
ROSTER = {"region": "420106002003", "format": "csv"}
ORG_GRAPH = next(spec for spec in services.SERVICES if spec.name == "org-graph")


async def test_up_seeds_the_demo_once_and_a_renamed_demo_building_stays_renamed_after_up_and_restarts(
    servers: Servers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The places and the roster import only (what reverted renamed buildings); organisations, people and
    # posts are ~290 more writes that add nothing to what is tested here.
    monkeypatch.setattr(demo_orggraph, "_organisations", lambda call: None)
    monkeypatch.setattr(demo_orggraph, "_people_and_posts", lambda call: None)
    run = uuid.uuid4().hex[:10]
    group, suffix = f"e2e-demo-{run}", f".e2e{run}"
    monkeypatch.setenv("CIVICGRID_ORGGRAPH_PORT", str(free_port()))
    monkeypatch.setenv("ORGGRAPH_CONSUMER_GROUP", group)
    monkeypatch.setenv("ORGGRAPH_TOPIC_SUFFIX", suffix)  # its own topics: no other stack reads its events
    await start_group_at_end(servers.kafka_bootstrap, group, [POPULATION_TOPIC], suffix)
    settings = Settings(cache_dir=tmp_path / "cache", state_dir=tmp_path / "state")  # markers, keys, pids
    env = {
        "CIVICGRID_KAFKA_BOOTSTRAP": servers.kafka_bootstrap,
        "CIVICGRID_NEO4J_URI": servers.neo4j_uri,
        "CIVICGRID_MONGO_URI": servers.mongo_uri,
    }
    said: list[str] = []

    async def up() -> str:
        said.clear()
        urls = await asyncio.to_thread(start_services, settings, env, names=["org-graph"], report=said.append)
        return urls["org-graph"]

    try:
        url = await up()
        assert any(line.startswith("org-graph: demo data ready") for line in said), said
        assert demo.seeded("org-graph", settings) is not None
        issuer = TokenIssuer(services.keys_dir(settings), "civicgrid-dev", "civicgrid")
        headers = {"Authorization": f"Bearer {issuer.mint('e2e', [Role.ADMIN])}"}
        renamed = f"改名楼{uuid.uuid4().hex[:6]}"
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
            answer = await client.patch(f"/places/{BUILDING}", json={"name": renamed})
            assert answer.status_code == 200, answer.text
            roster = (await client.get("/exports/roster", params=ROSTER)).text
        assert renamed in roster

        url = await up()  # up again, everything running
        assert any("left as it is now" in line for line in said), said
        assert not any("demo data ready" in line for line in said), said

        assert services.stop(ORG_GRAPH, settings)  # one stopped service, then up
        url = await up()
        assert any(line == "org-graph: starting" for line in said), said
        assert not any("demo data ready" in line for line in said), said
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
            place = (await client.get(f"/places/{BUILDING}")).json()
            after = (await client.get("/exports/roster", params=ROSTER)).text
        assert place["name"] == renamed
        assert after == roster
    finally:
        services.stop(ORG_GRAPH, settings)


def test_a_seed_runs_once_per_store_again_after_its_store_was_reset_and_on_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(cache_dir=tmp_path / "cache", state_dir=tmp_path / "state")
    calls: list[str] = []
    monkeypatch.setattr(demo, "_seeder", lambda module: lambda url, token: calls.append(url))
    urls = {"org-graph": "og", "resources": "rs", "notifications": "nt"}
    assert demo.seed(urls, settings, report=lambda _: None) == ["org-graph", "resources", "notifications"]
    assert demo.seed(urls, settings, report=lambda _: None) == []
    shutil.rmtree(settings.state_dir / "neo4j")  # what `python -m deploy.local reset neo4j` deletes
    assert demo.seed(urls, settings, report=lambda _: None) == ["org-graph"]
    assert demo.seed(urls, settings, again=True, report=lambda _: None) == list(urls)
    assert calls == ["og", "rs", "nt", "og", "og", "rs", "nt"]
