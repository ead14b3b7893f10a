"""The fault suite's own stack, its writers and its ledger.

- **Stack**: Kafka, Neo4j and FerretDB of the ``faults`` stack (``deploy.local``, state in
  ``.local/faults``, ports + 20000), which the suite stops, kills and restarts; the three services as
  processes (``tests/e2e/processes.py``) on databases and consumer groups of this run.
- **Writers**: an appointment in org-graph (a person of this run to a committee post) and a resident's
  request in resources (to the run's grid, whose team has one worker). Each write has a client-chosen id
  and is recorded in a **ledger** with its answer (status, seconds, error).
- **Effects** of each write, read from the stores and the broker: the stored document (Neo4j
  ``Membership`` / MongoDB ``requests``), the events on Kafka (``membership.started``;
  ``request.received`` and ``request.dispatched``), and the member's feed entry in notifications
  (rule ``appointed`` for the appointed person; ``request_dispatched`` for the team's worker). A write is
  *lost* when it was acknowledged (2xx) or stored, and one of its effects is missing; *doubled* when an
  effect exists twice (two distinct event ids for one write, two feed entries).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from neo4j import AsyncGraphDatabase
from pymongo import AsyncMongoClient

from civicgrid_contracts.envelope import CloudEvent
from civicgrid_runtime.auth import Role, TokenIssuer
from deploy.local import servers as local_servers
from deploy.local.config import Settings
from tests.e2e.processes import ServiceProcess, Stack, start_group_at_end

MEMBERSHIPS = "civicgrid.org.memberships.v1"
REQUESTS = "civicgrid.resources.requests.v1"
PLACES = "civicgrid.org.places.v1"
POPULATION = "municipal.statistics.population.v1"
STARTED = "cn.civicgrid.org.membership.started.v1"
RECEIVED = "cn.civicgrid.resources.request.received.v1"
DISPATCHED = "cn.civicgrid.resources.request.dispatched.v1"
ESCALATED = "cn.civicgrid.resources.request.escalated.v1"
SLA_EMERGENCY_SECONDS = 15.0
WRITE_TIMEOUT = 10.0
PROMPT_503 = 3.0


_LOG: list[Path] = []


def log(message: str) -> None:
    """A timestamped progress line in ``<workdir>/faults.log`` (why a scenario took long, what it saw)."""
    line = f"{time.strftime('%H:%M:%S')} {message}\n"
    for path in _LOG:
        with path.open("a") as f:
            f.write(line)


def faults_settings() -> Settings:
    return Settings.from_env().for_stack("faults")


def report_path() -> Path:
    return Settings.from_env().state_dir / "faults-report.json"


# --- the ledger ------------------------------------------------------------------------------


@dataclass
class Outcome:
    kind: str  # "appointment" or "request"
    key: str  # the membership id or request id the client chose
    member: str  # whose feed must show it: the appointed person, or the team's worker
    status: int | None  # None: no answer (connection refused or reset, timeout)
    seconds: float
    at: float  # time.monotonic() when the answer (or the error) came
    error: str = ""
    body: str = ""
    timeout: float = WRITE_TIMEOUT

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Ledger:
    outcomes: list[Outcome] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)  # when the fault began, ended (monotonic)

    def when(self, moment: float) -> str:
        """``moment`` relative to the marks, e.g. ``stop+2.1s``."""
        before = [(name, at) for name, at in self.marks.items() if at <= moment]
        if not before:
            return f"{moment - min(self.marks.values(), default=moment):+.1f}s"
        name, at = max(before, key=lambda item: item[1])
        return f"{name}+{moment - at:.1f}s"

    def of(self, kind: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind == kind]

    def acknowledged(self, kind: str) -> dict[str, str]:
        return {o.key: o.member for o in self.of(kind) if o.acknowledged}

    def attempted(self, kind: str) -> dict[str, str]:
        return {o.key: o.member for o in self.of(kind)}

    def wrong_5xx(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status is not None and o.status >= 500 and o.status != 503]

    def slow_503(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == 503 and o.seconds > PROMPT_503]

    def hung(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status is None and o.error == "timeout"]

    def statuses(self) -> dict[str, int]:
        return dict(Counter(str(o.status or o.error or "none") for o in self.outcomes))

    def first_ack_after(self, kind: str, since: float) -> float | None:
        times = [o.at for o in self.of(kind) if o.acknowledged and o.at >= since]
        return min(times) - since if times else None


# --- the world a run writes into --------------------------------------------------------------


@dataclass
class World:
    street: str
    community: str
    grid: str
    party_org: str
    hot_org: str  # the residents' committee: its committee_member post is the hot aggregate
    committees: list[str]  # subcommittees the steady and burst appointments are spread over
    secretary: str  # holds a coordinator post: hears of escalations
    worker: str  # the person in the grid's team: hears of every dispatched request
    people: list[str]  # registered for the run's appointments
    pairs: Iterator[tuple[str, str]] = field(init=False)
    hot_turns: Iterator[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        # every (person, committee) once: a person sits on several committees, never twice on one
        self.pairs = iter([(p, c) for c in self.committees for p in self.people])

    def next_appointment(self) -> tuple[str, str]:
        try:
            return next(self.pairs)
        except StopIteration:
            raise RuntimeError(
                "the run's people are used up: raise PEOPLE in tests/faults/conftest.py"
            ) from None

    def next_hot_person(self) -> str:
        """A person not yet on the residents' committee (the hot post)."""
        turn = next(self.hot_turns)
        if turn >= len(self.people):
            raise RuntimeError("the run's people are used up: raise PEOPLE in tests/faults/conftest.py")
        return self.people[turn]


class FaultStack:
    """The faults stack's servers and the three services, with the clients a scenario needs."""

    def __init__(self, workdir: Path, keys_dir: Path) -> None:
        self.settings = faults_settings()
        _LOG[:] = [workdir / "faults.log"]
        env = self.settings.connection_env()
        self.env = env
        self.stack = Stack(
            env["CIVICGRID_KAFKA_BOOTSTRAP"],
            env["CIVICGRID_MONGO_URI"],
            env["CIVICGRID_NEO4J_URI"],
            keys_dir,
            workdir,
        )
        self.issuer = TokenIssuer(keys_dir, "civicgrid-dev", "civicgrid")
        self.admin = self.issuer.mint("faults-admin", [Role.ADMIN])
        # Idle connections are dropped after 1 s, before uvicorn closes them (5 s): a POST is never sent on a
        # connection the server is closing (httpx does not retry it, and it would count as unanswered).
        self.http = httpx.AsyncClient(
            timeout=WRITE_TIMEOUT,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=100, keepalive_expiry=1.0),
        )
        self.og: ServiceProcess = self.stack.service("org-graph")
        self.rs: ServiceProcess = self.stack.service(
            "resources", SLA_EMERGENCY_SECONDS=str(SLA_EMERGENCY_SECONDS), SLA_SWEEP_INTERVAL_SECONDS="1"
        )
        self.nt: ServiceProcess = self.stack.service("notifications")
        self.services = {"org-graph": self.og, "resources": self.rs, "notifications": self.nt}
        self.events = EventLog(env["CIVICGRID_KAFKA_BOOTSTRAP"])
        self.world: World | None = None

    # --- servers ------------------------------------------------------------------------------
    def stop_server(self, name: str) -> None:
        local_servers.down([name], settings=self.settings, report=log)

    def start_server(self, name: str) -> None:
        local_servers.up([name], settings=self.settings, report=log)

    # --- services -----------------------------------------------------------------------------
    async def start_services(self) -> None:
        from civicgrid_contracts.catalogue import topic_for
        from civicgrid_notifications.entrypoints.consumers import consumed_event_types

        kafka = self.stack.kafka
        rs_group = self.rs.env["RESOURCES_CONSUMER_GROUP"]
        await start_group_at_end(kafka, f"{rs_group}.places", [PLACES])
        await start_group_at_end(kafka, self.og.env["ORGGRAPH_CONSUMER_GROUP"], [POPULATION])
        topics = sorted({topic_for(t) for t in consumed_event_types()})
        await start_group_at_end(kafka, self.nt.env["NOTIFICATIONS_CONSUMER_GROUP"], topics)
        await self.events.start([MEMBERSHIPS, REQUESTS])
        log("starting the services")
        await asyncio.gather(*(asyncio.to_thread(p.start) for p in self.services.values()))
        log("services ready")

    async def ensure_running(self) -> None:
        """Whatever an earlier scenario left dead comes back (servers first, then services)."""
        rows = local_servers.status(settings=self.settings)
        if not all(r.healthy for r in rows):
            await asyncio.to_thread(local_servers.up, settings=self.settings, report=log)
        dead = [p for p in self.services.values() if p.process is None or p.process.poll() is not None]
        if dead:
            log(f"restarting {', '.join(p.name for p in dead)} left dead by an earlier scenario")
        await asyncio.gather(*(asyncio.to_thread(p.start) for p in dead))

    def stop(self) -> None:
        self.stack.stop_all()

    async def close(self) -> None:
        await self.http.aclose()

    # --- writes -------------------------------------------------------------------------------
    def headers(self, key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.admin}"}
        if key:
            headers["Idempotency-Key"] = key
        return headers

    async def _write(
        self,
        ledger: Ledger,
        kind: str,
        key: str,
        member: str,
        url: str,
        body: dict[str, Any],
        timeout: float = WRITE_TIMEOUT,
    ) -> Outcome:
        started = time.monotonic()
        status: int | None = None
        error = text = ""
        try:
            response = await self.http.post(url, json=body, headers=self.headers(key), timeout=timeout)
            status, text = response.status_code, response.text[:300]
        except httpx.TimeoutException:
            error = "timeout"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        now = time.monotonic()
        outcome = Outcome(kind, key, member, status, now - started, now, error, text, timeout)
        ledger.outcomes.append(outcome)
        return outcome

    async def appoint(
        self, ledger: Ledger, org: str | None = None, timeout: float = WRITE_TIMEOUT
    ) -> Outcome:
        """An appointment to a committee post (to ``org``'s committee_member post: the hot aggregate)."""
        world = self.require_world()
        if org is None:
            person, org = world.next_appointment()
        else:
            person = world.next_hot_person()
        membership = f"fm-{uuid.uuid4().hex[:12]}"
        body = {
            "membership_id": membership,
            "person_id": person,
            "org_id": org,
            "post": "committee_member",
            "start_date": "2025-07-01",
            "basis": "election",
            "basis_reference": "2025年换届选举",
        }
        url = f"{self.og.url}/memberships"
        return await self._write(ledger, "appointment", membership, person, url, body, timeout)

    async def file_request(
        self, ledger: Ledger, urgency: str = "ordinary", timeout: float = WRITE_TIMEOUT
    ) -> Outcome:
        world = self.require_world()
        request = f"fr-{uuid.uuid4().hex[:12]}"
        body = {
            "request_id": request,
            "community_code": world.community,
            "kind": "help",
            "category": "楼道照明",
            "urgency": urgency,
            "summary": "故障演练：楼道灯不亮",
            "grid_id": world.grid,
        }
        url = f"{self.rs.url}/requests"
        return await self._write(ledger, "request", request, world.worker, url, body, timeout)

    def require_world(self) -> World:
        if self.world is None:
            raise RuntimeError("the world is not set up yet")
        return self.world

    # --- setting up the world -----------------------------------------------------------------
    async def call(self, method: str, url: str, body: Any = None, ok: tuple[int, ...] = (200, 201)) -> Any:
        response = await self.http.request(method, url, json=body, headers=self.headers(), timeout=60)
        assert response.status_code in ok, f"{method} {url}: {response.status_code} {response.text[:400]}"
        return response.json() if response.content else None

    async def until_ok(self, method: str, url: str, body: Any, what: str, timeout: float = 120) -> Any:
        """Repeat a write resources refuses until org-graph's events reached it (422 *_known)."""
        deadline = time.monotonic() + timeout
        while True:
            response = await self.http.request(method, url, json=body, headers=self.headers(), timeout=60)
            if response.status_code < 300:
                return response.json()
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: {response.status_code} {response.text[:400]}")
            await asyncio.sleep(0.5)

    async def set_up_world(self, people: int) -> World:
        og, rs = self.og.url, self.rs.url
        for kind, code, name in (
            ("province", "420000000000", "湖北省"),
            ("city", "420100000000", "武汉市"),
            ("district", "420106000000", "武昌区"),
        ):
            await self.call(
                "POST", f"{og}/places", {"kind": kind, "code": code, "name": name}, ok=(200, 201, 409)
            )
        while True:
            street = f"420106{random.randint(100, 999)}000"
            community = f"{street[:9]}{random.randint(1, 999):03d}"
            body = {"kind": "street", "code": street, "name": f"演练街道{street[6:9]}"}
            await self.call("POST", f"{og}/places", body, ok=(200, 201, 409))
            body = {"kind": "community", "code": community, "name": f"演练社区{community[9:]}"}
            response = await self.http.post(f"{og}/places", json=body, headers=self.headers(), timeout=60)
            if response.status_code == 201 and response.json().get("created", True):
                break
        compound, building, grid = f"{community}-C01", f"{community}-C01-B01", f"{community}001"
        body = {"kind": "compound", "code": compound, "parent_code": community, "name": "演练小区"}
        await self.call("POST", f"{og}/places", body)
        body = {"kind": "building", "code": building, "parent_code": compound, "name": "1栋"}
        await self.call("POST", f"{og}/places", body)
        await self.call(
            "POST", f"{og}/grids", {"grid_id": grid, "name": "演练网格", "building_codes": [building]}
        )

        async def organisation(kind: str, name: str, parent: str | None = None) -> str:
            body = {"kind": kind, "place_code": community, "name": name, "parent_org_id": parent}
            return str((await self.call("POST", f"{og}/organisations", body))["org_id"])

        party = await organisation("party_committee", "演练社区党委")
        residents = await organisation("residents_committee", "演练社区居委会")
        committees = [await organisation("subcommittee", f"演练专委会{n}", residents) for n in range(6)]

        async def person(prefix: str) -> str:
            person_id = f"{prefix}-{uuid.uuid4().hex[:10]}"
            body = {"person_id": person_id, "display_name": "演练人员", "community_code": community}
            await self.call("POST", f"{og}/people", body)
            return person_id

        log(f"community {community}: places, grid and organisations registered")
        secretary, worker = await person("fs"), await person("fw")
        pool: list[str] = []
        limit = asyncio.Semaphore(8)

        async def pooled() -> None:
            async with limit:
                pool.append(await person("fp"))

        await asyncio.gather(*(pooled() for _ in range(people)))
        log(f"{people} people registered")
        body = {
            "person_id": secretary,
            "org_id": party,
            "post": "secretary",
            "start_date": "2025-07-01",
            "basis": "election",
            "basis_reference": "2025年换届选举",
        }
        await self.call("POST", f"{og}/memberships", body)

        resource = f"fres-{worker}"
        body = {
            "community_code": community,
            "kind": "volunteer",
            "display_name": "演练队员",
            "person_id": worker,
            "resource_id": resource,
        }
        await self.until_ok("POST", f"{rs}/resources", body, "the community in resources")
        await self.call("POST", f"{rs}/resources/{resource}/confirm")
        body = {"grid_id": grid, "role": "volunteer", "period_start": "2025-07-01"}
        await self.until_ok("POST", f"{rs}/resources/{resource}/grids", body, "the grid in resources")
        await self.call("POST", f"{rs}/teams", {"grid_id": grid, "name": "演练服务队"})
        await self.call("POST", f"{rs}/teams/team-{grid}/members", {"resource_id": resource})
        self.world = World(street, community, grid, party, residents, committees, secretary, worker, pool)
        log("the grid's team is set up in resources")
        return self.world


# --- reading the effects ----------------------------------------------------------------------


class EventLog:
    """The events of this run on some topics (read from the end offsets when the run began)."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.positions: dict[TopicPartition, int] = {}
        self.events: list[CloudEvent] = []
        self.dlq_start: dict[TopicPartition, int] = {}

    async def _consumer(self) -> AIOKafkaConsumer:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            request_timeout_ms=15000,
        )
        await consumer.start()
        return consumer

    async def _partitions(self, consumer: AIOKafkaConsumer, topics: Iterable[str]) -> list[TopicPartition]:
        cluster = await consumer._client.fetch_all_metadata()  # every topic's partitions, not only assigned
        partitions = [
            TopicPartition(t, p) for t in topics for p in sorted(cluster.partitions_for_topic(t) or ())
        ]
        if partitions:
            consumer.assign(partitions)  # so that the client's own metadata knows their leaders
            await consumer._client.force_metadata_update()
        return partitions

    async def start(self, topics: list[str]) -> None:
        from civicgrid_runtime.kafka.topics import ensure_topics

        await ensure_topics(self.bootstrap, topics)
        consumer = await self._consumer()
        try:
            partitions = await self._partitions(consumer, topics)
            self.positions = dict(await consumer.end_offsets(partitions))
            dlq = [t for t in await consumer.topics() if t.endswith(".dlq")]
            dlq_partitions = await self._partitions(consumer, dlq)
            self.dlq_start = dict(await consumer.end_offsets(dlq_partitions)) if dlq_partitions else {}
        finally:
            await consumer.stop()

    async def refresh(self) -> None:
        """Read what was published since the last refresh."""
        consumer = await self._consumer()
        try:
            partitions = list(self.positions)
            ends = await consumer.end_offsets(partitions)
            wanted = [tp for tp in partitions if ends[tp] > self.positions[tp]]
            if not wanted:
                return
            consumer.assign(wanted)
            for tp in wanted:
                consumer.seek(tp, self.positions[tp])
            while any(self.positions[tp] < ends[tp] for tp in wanted):
                batch = await consumer.getmany(timeout_ms=1000)
                for tp, records in batch.items():
                    for record in records:
                        self.positions[tp] = record.offset + 1
                        try:
                            event = CloudEvent.from_kafka(record.key, record.value or b"", record.headers)
                        except Exception:
                            continue
                        self.events.append(event)
        finally:
            await consumer.stop()

    async def dead_letters(self) -> int:
        """Records dead-lettered (any ``*.dlq`` topic) since the run began."""
        consumer = await self._consumer()
        try:
            dlq = [t for t in await consumer.topics() if t.endswith(".dlq")]
            partitions = await self._partitions(consumer, dlq)
            ends = await consumer.end_offsets(partitions) if partitions else {}
            return sum(end - self.dlq_start.get(tp, 0) for tp, end in ends.items())
        finally:
            await consumer.stop()

    def ids_by(self, event_type: str, key: Callable[[dict[str, Any]], Any]) -> dict[str, set[str]]:
        """Distinct event ids of ``event_type`` per ``key(data)`` (events whose key is None left out)."""
        found: dict[str, set[str]] = defaultdict(set)
        for event in self.events:
            if event.type == event_type and isinstance(event.data, dict):
                value = key(event.data)
                if value is not None:
                    found[str(value)].add(event.id)
        return found

    def of_type(self, event_type: str) -> list[CloudEvent]:
        return [e for e in self.events if e.type == event_type]


@dataclass
class Tally:
    """What the stores, the broker and the feeds show for a ledger's writes."""

    expected: set[str]  # acknowledged, or stored although not acknowledged
    lost: dict[str, list[str]]  # id -> the missing effects
    doubled: dict[str, list[str]]  # id -> the doubled effects


class Effects:
    def __init__(self, stack: FaultStack) -> None:
        self.stack = stack
        self.mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            stack.env["CIVICGRID_MONGO_URI"], serverSelectionTimeoutMS=5000
        )
        self.neo4j = AsyncGraphDatabase.driver(stack.env["CIVICGRID_NEO4J_URI"], auth=None)

    async def close(self) -> None:
        await self.mongo.close()
        await self.neo4j.close()

    def _db(self, service: str) -> Any:
        return self.mongo[self.stack.stack.database(service)]

    async def stored_memberships(self, ids: Iterable[str]) -> set[str]:
        records, _, _ = await self.neo4j.execute_query(
            "MATCH (m:Membership) WHERE m.id IN $ids RETURN m.id AS id", ids=list(ids)
        )
        return {str(r["id"]) for r in records}

    async def stored_requests(self, ids: Iterable[str]) -> set[str]:
        wanted = set(ids)
        found = set()
        async for doc in self._db("resources")["requests"].find({}, {"_id": 1}):
            if doc["_id"] in wanted:
                found.add(str(doc["_id"]))
        return found

    async def feed(self, rule: str, members: Iterable[str]) -> list[dict[str, Any]]:
        query = {"rule": rule, "member_id": {"$in": sorted(set(members))}}
        projection = {"member_id": 1, "source_event_id": 1, "link": 1}
        return [doc async for doc in self._db("notifications")["feed"].find(query, projection)]

    async def appointments(self, ledger: Ledger) -> Tally:
        acked, attempted = ledger.acknowledged("appointment"), ledger.attempted("appointment")
        stored = await self.stored_memberships(attempted)
        await self.stack.events.refresh()
        events = self.stack.events.ids_by(STARTED, lambda d: d.get("membership_id"))
        entries = Counter(d["source_event_id"] for d in await self.feed("appointed", attempted.values()))
        return _tally(
            acked,
            attempted,
            stored,
            {"event": events},
            {"feed": lambda key: sum(entries[e] for e in events.get(key, ()))},
        )

    async def requests(self, ledger: Ledger) -> Tally:
        acked, attempted = ledger.acknowledged("request"), ledger.attempted("request")
        stored = await self.stored_requests(attempted)
        await self.stack.events.refresh()
        received = self.stack.events.ids_by(RECEIVED, lambda d: d.get("request_id"))
        # escalating dispatches again at the higher tier: the team hears of the grid tier's dispatch
        to_grid = self.stack.events.ids_by(
            DISPATCHED, lambda d: d.get("request_id") if d.get("tier") == "grid" else None
        )
        entries = Counter(
            d["source_event_id"] for d in await self.feed("request_dispatched", set(attempted.values()))
        )
        return _tally(
            acked,
            attempted,
            stored,
            {"received event": received, "dispatched event": to_grid},
            {"feed": lambda key: sum(entries[e] for e in to_grid.get(key, ()))},
        )


def _tally(
    acked: dict[str, str],
    attempted: dict[str, str],
    stored: set[str],
    events: dict[str, dict[str, set[str]]],
    counts: dict[str, Callable[[str], int]],
) -> Tally:
    """Lost: acknowledged or stored, and a stored document, an event or a feed entry is missing.
    Doubled: two distinct events, or two feed entries, for one write."""
    expected = set(acked) | stored
    lost: dict[str, list[str]] = {}
    doubled: dict[str, list[str]] = {}
    for key in attempted:
        found = {"stored": int(key in stored)}
        found.update({name: len(ids.get(key, ())) for name, ids in events.items()})
        found.update({name: count(key) for name, count in counts.items()})
        if key in expected and (missing := [name for name, n in found.items() if n == 0]):
            lost[key] = missing
        if twice := [name for name, n in found.items() if n > 1]:
            doubled[key] = twice
    return Tally(expected, lost, doubled)


# --- one scenario's row -----------------------------------------------------------------------


@dataclass
class Row:
    fault: str
    acknowledged: int
    lost: int
    doubled: int
    recovery_seconds: float | None
    attempted: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    wrong_5xx: int = 0
    slow_503: int = 0
    hung: int = 0
    dead_lettered: int = 0
    writes_back_seconds: float | None = None
    slowest_503_seconds: float | None = None
    answers_required: bool = True  # False where writes in flight to a killed process have no answer
    hung_after: str = ""
    notes: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        found = []
        if self.lost:
            found.append(f"{self.lost} lost")
        if self.doubled:
            found.append(f"{self.doubled} doubled")
        if self.wrong_5xx:
            found.append(f"{self.wrong_5xx} answers 5xx other than 503")
        if self.slow_503:
            found.append(f"{self.slow_503} 503s later than {PROMPT_503:.0f} s")
        if self.hung and self.answers_required:
            found.append(
                f"{self.hung} writes without an answer within the client's timeout ({self.hung_after})"
            )
        if self.dead_lettered:
            found.append(f"{self.dead_lettered} records dead-lettered")
        return found + [n for n in self.notes if n.startswith("FAIL")]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def converge(
    effects: Effects,
    ledger: Ledger,
    kinds: Iterable[str],
    timeout: float,
    extra: Callable[[], Awaitable[list[str]]] | None = None,
) -> tuple[dict[str, Tally], float | None, list[str]]:
    """Poll the effects until nothing acknowledged is missing (and ``extra`` reports nothing); the tallies,
    the seconds it took (None if it never did) and what ``extra`` reported last."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        tallies: dict[str, Tally] = {}
        for kind in kinds:
            tallies[kind] = await (
                effects.appointments(ledger) if kind == "appointment" else effects.requests(ledger)
            )
        pending = await extra() if extra is not None else []
        missing = sum(len(t.lost) for t in tallies.values())
        log(f"  converging: {missing} writes with missing effects, {len(pending)} other checks pending")
        if not any(t.lost for t in tallies.values()) and not pending:
            return tallies, time.monotonic() - started, pending
        if time.monotonic() > deadline:
            return tallies, None, pending
        await asyncio.sleep(1.0)


def row_for(
    fault: str,
    ledger: Ledger,
    tallies: dict[str, Tally],
    recovery: float | None,
    dead_lettered: int,
    kinds: Iterable[str],
) -> Row:
    kinds = list(kinds)
    lost = {k: v for t in tallies.values() for k, v in t.lost.items()}
    doubled = {k: v for t in tallies.values() for k, v in t.doubled.items()}
    row = Row(
        fault=fault,
        acknowledged=sum(len(ledger.acknowledged(k)) for k in kinds),
        lost=len(lost),
        doubled=len(doubled),
        recovery_seconds=round(recovery, 1) if recovery is not None else None,
        attempted=sum(len(ledger.attempted(k)) for k in kinds),
        statuses=ledger.statuses(),
        wrong_5xx=len(ledger.wrong_5xx()),
        slow_503=len(ledger.slow_503()),
        hung=len(ledger.hung()),
        slowest_503_seconds=max(
            (round(o.seconds, 2) for o in ledger.outcomes if o.status == 503), default=None
        ),
        hung_after=", ".join(sorted({f"{o.timeout:.0f} s" for o in ledger.hung()})),
        dead_lettered=dead_lettered,
    )
    for key, what in list(lost.items())[:5]:
        row.notes.append(f"lost {key}: missing {', '.join(what)}")
    for key, what in list(doubled.items())[:5]:
        row.notes.append(f"doubled {key}: {', '.join(what)}")
    hung = ledger.hung()
    if hung:
        sent = [ledger.when(o.at - o.seconds) for o in hung]
        row.notes.append(f"no answer for {len(hung)} {hung[0].kind}s sent at {', '.join(sent)}")
    for outcome in (ledger.wrong_5xx() + ledger.slow_503())[:5]:
        row.notes.append(
            f"{outcome.kind} {outcome.key}: {outcome.status} after {outcome.seconds:.1f} s {outcome.body}"
        )
    return row


def render(rows: list[Row]) -> str:
    """The JSON table: one object per fault with the columns the docs quote."""
    table = [
        {
            "fault": r.fault,
            "acknowledged": r.acknowledged,
            "lost": r.lost,
            "doubled": r.doubled,
            "recovery_seconds": r.recovery_seconds,
            "wrong_5xx": r.wrong_5xx,
            "slow_503": r.slow_503,
            "no_answer": r.hung,
            "dead_lettered": r.dead_lettered,
            "passed": not r.problems(),
        }
        for r in rows
    ]
    return json.dumps(table, ensure_ascii=False, indent=1)
