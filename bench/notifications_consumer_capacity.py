"""Notifications' consumer flat out: a burst of ``membership.started`` facts on Kafka -> every entry written.

    .venv/bin/python -m bench.notifications_consumer_capacity [--facts 300] [--communities 20]
        [--in-flight 1,8] [--rounds 2]

Starts the notifications service in this process (real uvicorn, Kafka and FerretDB named by
CIVICGRID_KAFKA_BOOTSTRAP and CIVICGRID_MONGO_URI; the test stack by default), once per round and
``--in-flight`` value (alternating, so each setting sees the same machine), each on a database and
consumer group of its own. Per round: the organisations of ``--communities`` communities are
projected first; then ``--facts`` appointments (round robin over the communities, each to another
member) are sent to Kafka at once, and the time from the first send until every entry is in the
feed gives the consumer's capacity in facts/s. Store commands the service sent during the burst are
counted with PyMongo command monitoring (less the live poller's idle rate measured just before), per
fact. Prints JSON with the load average read with each round (the machine has 2 shared cores).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient, monitoring

from bench.notifications_raw import load
from civicgrid_notifications.settings import NotificationsSettings
from tests.integration.notifications import facts
from tests.integration.notifications.harness import eventually, start_service, stop_service

CONCURRENT = "consumer_max_in_flight" in NotificationsSettings.model_fields


def ferretdb_cpu_s(mongo_uri: str) -> float | None:
    """CPU seconds used so far by the FerretDB process listening at the URI's address (Linux /proc)."""
    address = mongo_uri.split("://", 1)[-1].split("/", 1)[0]
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            if any(b"ferretdb" in a for a in argv[:1]) and address.encode() in argv:
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            continue
    return None


class Commands(monitoring.CommandListener):
    """Commands sent to one database by the clients made after it was registered (the service's)."""

    def __init__(self) -> None:
        self.database = ""
        self.seen: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.database_name == self.database:
            self.seen[event.command_name] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None

    def total(self) -> int:
        return sum(self.seen.values())


async def one_round(
    args: argparse.Namespace, in_flight: int, poll: AsyncMongoClient[dict[str, Any]], commands: Commands
) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:10]
    database = f"bench_capacity_{suffix}"
    commands.database = database
    keys = Path(tempfile.mkdtemp(prefix="bench-capacity-"))
    service = await start_service(
        args.kafka,
        args.mongo,
        database,
        keys,
        f"bench-capacity-{suffix}",
        stream_poll_interval_seconds=0.5,
        # A tree without the setting (the code before concurrent handling) runs one fact at a time.
        **({"consumer_max_in_flight": in_flight} if CONCURRENT else {}),
    )
    feed = poll[database]["feed"]
    try:
        probe, probe_org, probe_person = facts.new_community(), facts.uid("org"), facts.uid("probe")
        await service.kafka.publish(facts.organisation(probe, probe_org))

        async def consuming() -> bool:
            await service.kafka.publish(facts.appointed(probe, probe_person, probe_org))
            return bool(await feed.count_documents({"member_id": probe_person}))

        await eventually(consuming, timeout=120, interval=1.0, what="the consumer group to be assigned")
        communities = [facts.new_community() for _ in range(args.communities)]
        orgs = {c: facts.uid("org") for c in communities}
        await service.kafka.publish(*(facts.organisation(c, orgs[c]) for c in communities))

        async def projected() -> bool:  # (the probe's organisation may predate the group's start)
            found = {"_id": {"$in": list(orgs.values())}}
            return await poll[database]["organisations"].count_documents(found) >= len(communities)

        await eventually(projected, timeout=60, what="the organisations")
        burst = []
        for n in range(args.facts):
            community = communities[n % len(communities)]
            burst.append(facts.appointed(community, facts.uid(f"cap{n}"), orgs[community]))
        members = [e.data["person_id"] for e in burst]
        records = [e.to_kafka() for e in burst]
        topic = "civicgrid.org.memberships.v1"
        idle_from, idle_commands = time.monotonic(), commands.total()
        await asyncio.sleep(2)
        idle_rate = (commands.total() - idle_commands) / (time.monotonic() - idle_from)
        load_before = load()
        cpu_here, cpu_store = time.process_time(), ferretdb_cpu_s(args.mongo)
        before, started = commands.total(), time.monotonic()
        sent = [
            await service.kafka.producer.send(topic, r.value, key=r.key, headers=r.headers) for r in records
        ]
        await asyncio.gather(*sent)
        sent_s = time.monotonic() - started

        async def written() -> bool:
            return await feed.count_documents({"member_id": {"$in": members}}) >= len(members)

        await eventually(written, timeout=600, interval=0.05, what="every entry")
        elapsed = time.monotonic() - started
        burst_commands = commands.total() - before - idle_rate * elapsed
        cpu_here = time.process_time() - cpu_here
        store_after = ferretdb_cpu_s(args.mongo)
        cpu_store = store_after - cpu_store if store_after is not None and cpu_store is not None else None
        return {
            "max_in_flight": in_flight if CONCURRENT else "1 (code without concurrent handling)",
            "facts": args.facts,
            "communities": args.communities,
            "sent_in_s": round(sent_s, 2),
            "all_entries_written_in_s": round(elapsed, 2),
            "facts_per_s": round(args.facts / elapsed, 1),
            "store_commands_per_fact": round(burst_commands / args.facts, 1),
            "idle_commands_per_s": round(idle_rate, 1),
            # CPU per fact during the burst: this process (the service, its poller, the bench's
            # polls) and FerretDB; their sum against the burst's wall time shows what bounds it.
            "cpu_ms_per_fact": {
                "service_process": round(cpu_here * 1000 / args.facts, 1),
                "ferretdb": round(cpu_store * 1000 / args.facts, 1) if cpu_store is not None else None,
            },
            "load": {"before": load_before, "after": load()},
        }
    finally:
        await stop_service(service)
        await poll.drop_database(database)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    poll: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(args.mongo)  # made before the listener
    commands = Commands()
    monitoring.register(commands)
    rounds = []
    try:
        for _ in range(args.rounds):
            for in_flight in args.in_flight:
                rounds.append(await one_round(args, in_flight, poll, commands))
    finally:
        await poll.close()
    path = "Kafka membership.started burst -> notifications consumer -> feed entries"
    return {"path": path, "rounds": rounds}


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--facts", type=int, default=300)
    parser.add_argument("--communities", type=int, default=20)
    parser.add_argument("--in-flight", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--kafka", default=os.environ.get("CIVICGRID_KAFKA_BOOTSTRAP", "127.0.0.1:19092"))
    parser.add_argument("--mongo", default=os.environ.get("CIVICGRID_MONGO_URI", "mongodb://127.0.0.1:37017"))
    return parser.parse_args()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(parse())), ensure_ascii=False, indent=2))
