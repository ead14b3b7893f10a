"""The faults, each as a function that injects it under load and returns the row of the report."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests.e2e.processes import ServiceProcess
from tests.faults.harness import (
    ESCALATED,
    SLA_EMERGENCY_SECONDS,
    Effects,
    FaultStack,
    Ledger,
    Outcome,
    Row,
    converge,
    log,
    row_for,
)

BOTH = ("appointment", "request")
CONVERGE_SECONDS = 120.0


class SteadyLoad:
    """Writes at a steady rate, alternating an appointment (org-graph) and a request (resources); a slow
    answer does not slow the rate down (every write is its own task, bounded by the client's timeout)."""

    def __init__(self, stack: FaultStack, ledger: Ledger, per_second: float = 2.0) -> None:
        self.stack, self.ledger, self.interval = stack, ledger, 1.0 / per_second
        self.tasks: set[asyncio.Task[Outcome]] = set()
        self.stopping = asyncio.Event()
        self.runner: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        turn = 0
        while not self.stopping.is_set():
            write = self.stack.appoint if turn % 2 == 0 else self.stack.file_request
            task = asyncio.create_task(write(self.ledger))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            turn += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), self.interval)

    def start(self) -> None:
        self.runner = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self.stopping.set()
        if self.runner is not None:
            await self.runner
        await asyncio.gather(*list(self.tasks))


def _exited(stack: FaultStack) -> list[str]:
    return [
        f"FAIL: {name} exited during the fault (exit status {p.process.returncode})"
        for name, p in stack.services.items()
        if p.process is not None and p.process.poll() is not None
    ]


# The crowds ask for outcomes (each 2xx or a 4xx naming the rule), not a latency: a writer queued behind
# 49 others on one post waits its turn, so the client is patient there (the recovery column shows the time).
CROWD_TIMEOUT = 120.0


async def _finish(
    stack: FaultStack,
    effects: Effects,
    ledger: Ledger,
    fault: str,
    kinds: tuple[str, ...],
    since: float,
    dead_letters_before: int,
    extra: Callable[[], Awaitable[list[str]]] | None = None,
    within: float = CONVERGE_SECONDS,
) -> Row:
    """Wait for every acknowledged write's effects, then build the row (recovery counted from ``since``)."""
    log(f"{fault}: {ledger.statuses()}; waiting for the effects")
    tallies, seconds, pending = await converge(effects, ledger, kinds, within, extra)
    recovery = time.monotonic() - since if seconds is not None else None
    dead = await stack.events.dead_letters() - dead_letters_before
    row = row_for(fault, ledger, tallies, recovery, dead, kinds)
    row.notes += [f"FAIL: {p}" for p in pending]
    return row


async def _burst_with_kill(
    stack: FaultStack,
    ledger: Ledger,
    target: ServiceProcess,
    kinds: tuple[str, ...],
    burst: int,
    in_flight: int,
) -> None:
    """One round: ``burst`` writes, ``in_flight`` at a time; kill -9 once a third were answered; restart."""
    limit = asyncio.Semaphore(in_flight)
    answered = 0
    a_third = asyncio.Event()

    async def one(turn: int) -> None:
        nonlocal answered
        async with limit:
            kind = kinds[turn % len(kinds)]
            await (stack.appoint(ledger) if kind == "appointment" else stack.file_request(ledger))
            answered += 1
            if answered >= burst // 3:
                a_third.set()

    tasks = [asyncio.create_task(one(n)) for n in range(burst)]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(a_third.wait(), 60)
    log(f"kill -9 {target.name} after {answered} of {burst} answers")
    await asyncio.to_thread(target.kill)
    await asyncio.gather(*tasks)
    started = time.monotonic()
    await asyncio.to_thread(target.start)
    log(f"{target.name} ready again after {time.monotonic() - started:.1f} s")


async def kill_mid_burst(
    stack: FaultStack, effects: Effects, services: tuple[str, ...], rounds: int = 3, burst: int = 24
) -> list[Row]:
    """kill -9 of each of ``services`` once a third of its burst was answered, restart at once, ``rounds``
    times; the services' rounds run side by side, each with its own writes and ledger."""
    await stack.ensure_running()
    dead_before = await stack.events.dead_letters()

    async def rounds_of(service: str) -> Row:
        ledger = Ledger()
        kinds: tuple[str, ...] = {"org-graph": ("appointment",), "resources": ("request",)}.get(service, BOTH)
        restarted = time.monotonic()
        for _ in range(rounds):
            await _burst_with_kill(stack, ledger, stack.services[service], kinds, burst, in_flight=6)
            restarted = time.monotonic()
        fault = f"kill -9 {service} mid-burst ({rounds} rounds of {burst} writes, 6 in flight)"
        row = await _finish(stack, effects, ledger, fault, kinds, restarted, dead_before)
        row.answers_required = False  # the writes in flight when the process died have no answer
        return row

    return list(await asyncio.gather(*(rounds_of(service) for service in services)))


async def server_down(stack: FaultStack, effects: Effects, server: str, seconds: float = 30.0) -> Row:
    """``server`` stopped for ``seconds`` under ~2 writes/s; the load goes on until writes succeed again."""
    await stack.ensure_running()
    ledger = Ledger()
    dead_before = await stack.events.dead_letters()
    load = SteadyLoad(stack, ledger)
    load.start()
    await asyncio.sleep(3)
    stopped = time.monotonic()
    ledger.marks["stop"] = stopped
    log(f"stopping {server}")
    await asyncio.to_thread(stack.stop_server, server)
    ledger.marks["stopped"] = time.monotonic()
    await asyncio.sleep(max(0.0, seconds - (time.monotonic() - stopped)))
    log(f"starting {server} again")
    ledger.marks["start"] = time.monotonic()
    await asyncio.to_thread(stack.start_server, server)
    back = time.monotonic()
    ledger.marks["healthy"] = back
    log(f"{server} healthy {back - stopped:.1f} s after it was stopped")
    affected = {"neo4j": "appointment", "ferretdb": "request"}.get(server)
    deadline = back + 60
    while time.monotonic() < deadline:
        if affected is None or ledger.first_ack_after(affected, back) is not None:
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(3)  # writes go on for a while after they are usable again
    await load.stop()
    notes = _exited(stack)
    row = await _finish(
        stack, effects, ledger, f"{server} down {seconds:.0f} s under 2 writes/s", BOTH, back, dead_before
    )
    row.notes += notes
    if affected is not None:
        back_after = ledger.first_ack_after(affected, back)
        row.writes_back_seconds = round(back_after, 1) if back_after is not None else None
        if back_after is None:
            row.notes.append(f"FAIL: no {affected} acknowledged within 60 s of {server} being healthy again")
    return row


async def sla_across_restart(stack: FaultStack, effects: Effects) -> Row:
    """A request whose deadline passes while resources is killed is escalated once when it is back,
    and the community's coordinator hears of it once per escalation."""
    await stack.ensure_running()
    ledger = Ledger()
    dead_before = await stack.events.dead_letters()
    outcome = await stack.file_request(ledger, urgency="emergency")
    assert outcome.acknowledged, f"the emergency request was refused: {outcome.status} {outcome.body}"
    due = time.monotonic() + SLA_EMERGENCY_SECONDS
    await asyncio.sleep(3)
    await asyncio.to_thread(stack.rs.kill)
    await asyncio.sleep(max(0.0, due - time.monotonic()) + 3)
    await asyncio.to_thread(stack.rs.start)
    back = time.monotonic()
    world = stack.require_world()
    key = outcome.key

    def escalations() -> dict[tuple[str, str], set[str]]:
        """Distinct escalation event ids of the request per step (from tier, to tier)."""
        steps: dict[tuple[str, str], set[str]] = {}
        for event in stack.events.of_type(ESCALATED):
            data = event.data if isinstance(event.data, dict) else {}
            if data.get("request_id") == key:
                steps.setdefault((str(data.get("from_tier")), str(data.get("to_tier"))), set()).add(event.id)
        return steps

    async def escalated_once_and_told() -> list[str]:
        steps = escalations()
        told = [
            d
            for d in await effects.feed("request_escalated", [world.secretary])
            if str(d.get("link") or "").endswith("/" + key)
        ]
        problems = []
        if not steps:
            problems.append("the passed deadline was not escalated")
        events = sum(len(ids) for ids in steps.values())
        if len(told) != events:
            problems.append(f"the coordinator's feed has {len(told)} entries for {events} escalations")
        return problems

    fault = "SLA deadline passes while resources is killed"
    row = await _finish(
        stack, effects, ledger, fault, ("request",), back, dead_before, escalated_once_and_told
    )
    steps = escalations()
    row.notes.append(
        "escalations: " + ", ".join(f"{a}->{b} x{len(ids)}" for (a, b), ids in sorted(steps.items()))
    )
    twice = [step for step, ids in steps.items() if len(ids) > 1]
    if twice:
        row.doubled += len(twice)
        row.notes.append(f"escalated twice: {twice}")
    return row


async def hot_post(stack: FaultStack, effects: Effects, writers: int = 50) -> Row:
    """``writers`` appointments to one post at once: each 2xx, or a 4xx naming the rule; never a 5xx."""
    ledger = Ledger()
    dead_before = await stack.events.dead_letters()
    world = stack.require_world()
    await asyncio.gather(
        *(stack.appoint(ledger, org=world.hot_org, timeout=CROWD_TIMEOUT) for _ in range(writers))
    )
    answered = time.monotonic()
    row = await _finish(
        stack,
        effects,
        ledger,
        f"{writers} concurrent appointments to one post (org-graph)",
        ("appointment",),
        answered,
        dead_before,
    )
    unnamed = [
        o
        for o in ledger.outcomes
        if o.status is not None and 400 <= o.status < 500 and '"rule"' not in o.body
    ]
    if unnamed:
        row.notes.append(
            f"FAIL: {len(unnamed)} refusals without a rule, e.g. {unnamed[0].status} {unnamed[0].body}"
        )
    unavailable = [o for o in ledger.outcomes if o.status is not None and o.status >= 500]
    if unavailable:  # even a prompt 503: nothing is down, the writers only contend for one post
        example = unavailable[0]
        row.notes.append(f"FAIL: {len(unavailable)} of {writers} answered 5xx, e.g. {example.body}")
    return row


async def hot_grid(stack: FaultStack, effects: Effects, total: int = 500, in_flight: int = 50) -> Row:
    """``total`` requests to one grid, ``in_flight`` at a time: every one 201, and the supervisors'
    statistics count exactly the stored requests."""
    ledger = Ledger()
    dead_before = await stack.events.dead_letters()
    world = stack.require_world()
    limit = asyncio.Semaphore(in_flight)

    async def one() -> None:
        async with limit:
            await stack.file_request(ledger, timeout=CROWD_TIMEOUT)

    await asyncio.gather(*(one() for _ in range(total)))
    answered = time.monotonic()
    db = effects.mongo[stack.stack.database("resources")]

    async def statistics_match() -> list[str]:
        stored = await db["requests"].count_documents({"grid_id": world.grid})
        try:
            response = await stack.http.get(
                f"{stack.rs.url}/supervision/rates",
                params={"region": world.community, "group_by": "grid"},
                headers=stack.headers(),
                timeout=CROWD_TIMEOUT,
            )
        except httpx.HTTPError as error:
            return [f"supervision rates: {type(error).__name__}"]
        if response.status_code != 200:
            return [f"supervision rates answered {response.status_code}"]
        groups: list[dict[str, Any]] = response.json().get("groups", [])
        counted = sum(int(g.get("total", 0)) for g in groups if g.get("grid") == world.grid)
        return (
            []
            if counted == stored
            else [f"statistics count {counted} requests of the grid, {stored} are stored"]
        )

    row = await _finish(
        stack,
        effects,
        ledger,
        f"{total} POST /requests to one grid, {in_flight} in flight (resources)",
        ("request",),
        answered,
        dead_before,
        statistics_match,
        within=300,  # notifications writes ~4 feed entries/s on this 2-core machine under load
    )
    refused = [o for o in ledger.outcomes if not o.acknowledged]
    if refused:
        example = refused[0]
        answer = example.status or example.error
        row.notes.append(f"FAIL: {len(refused)} of {total} not created, e.g. {answer} {example.body}")
    return row


async def crowds(stack: FaultStack, effects: Effects) -> list[Row]:
    """Both hot aggregates at once (they share nothing: a post in org-graph, a grid in resources)."""
    await stack.ensure_running()
    return list(await asyncio.gather(hot_post(stack, effects), hot_grid(stack, effects)))
