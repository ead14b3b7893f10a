"""The fault suite's stack: its own servers (``faults``: ``.local/faults``, ports + 20000) started here and
stopped at the end, the three services as processes, and the world the scenarios write into. The rows of
every scenario are written to ``.local/faults-report.json`` and printed as a JSON table at the end."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from deploy.local import servers as local_servers
from deploy.local.base import no_report
from tests.faults.harness import (
    Effects,
    FaultStack,
    Ledger,
    Row,
    converge,
    faults_settings,
    log,
    render,
    report_path,
)

PEOPLE = 80
"""People registered for the run: each sits once on each of the six committees (480 appointments), and 50
of them on the residents' committee (the hot post)."""


@pytest.fixture(scope="package")
def rows(request: pytest.FixtureRequest) -> Iterator[list[Row]]:
    found: list[Row] = []
    yield found
    if not found:
        return
    table = render(found)
    path = report_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "cpus": os.cpu_count(),
        "rows": [r.as_dict() for r in found],
    }
    path.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
        print(f"\nfault suite ({path}):\n{table}", flush=True)


@pytest.fixture(scope="package")
async def stack() -> AsyncIterator[FaultStack]:
    settings = faults_settings()
    await asyncio.to_thread(local_servers.up, settings=settings, report=no_report)
    workdir = settings.state_dir / "services" / time.strftime("%Y%m%d-%H%M%S")
    workdir.mkdir(parents=True, exist_ok=True)
    built = FaultStack(workdir, workdir / "keys")
    log(f"servers of the faults stack up ({settings.state_dir})")
    try:
        await built.start_services()
        await built.set_up_world(PEOPLE)
        yield built
    finally:
        await asyncio.to_thread(built.stop)
        await built.close()
        await asyncio.to_thread(local_servers.down, settings=settings, report=no_report)


@pytest.fixture(scope="package")
async def effects(stack: FaultStack) -> AsyncIterator[Effects]:
    reader = Effects(stack)
    ledger = Ledger()  # one write of each kind reaches its feed before any fault: the pipeline works
    await stack.appoint(ledger)
    await stack.file_request(ledger)
    tallies, seconds, _ = await converge(reader, ledger, ("appointment", "request"), timeout=120)
    assert seconds is not None, f"the stack never delivered a first write: {tallies} {ledger.outcomes}"
    yield reader
    await reader.close()
