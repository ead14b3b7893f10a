"""A concurrent consumer (by community, 4 in flight) run as its own process, so a test can SIGKILL it
while one record is in its handler and records of another key after it have finished.

    python -m tests.integration.runtime.concurrent_consumer_process BOOTSTRAP TOPIC GROUP JOURNAL HANG_AT

Journals "ready" once its group has settled, then "done <residents>" for each event handled; the
event whose ``residents`` is HANG_AT is journalled "started <residents>" and never finishes (0: none
hangs).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Hashable
from pathlib import Path

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker

from civicgrid_contracts.envelope import CloudEvent
from civicgrid_runtime.kafka import EventRoutes, create_broker, subscribe_events
from civicgrid_runtime.settings import ServiceSettings
from tests.support.events import POPULATION_REPORTED
from tests.support.kafka import wait_for


async def _settled(broker: KafkaBroker) -> bool:
    consumers = [getattr(sub, "consumer", None) for sub in broker.subscribers]
    return all(consumer is not None and consumer.assignment() for consumer in consumers)


def _community(record: ConsumerRecord[bytes, bytes]) -> Hashable:
    key: bytes | None = record.key
    return key


async def main(bootstrap: str, topic: str, group: str, journal: Path, hang_at: int) -> None:
    settings = ServiceSettings(
        kafka_bootstrap_servers=bootstrap,
        service_name="concurrent-kill-test",
        consumer_commit_interval_seconds=0.1,
    )
    broker = create_broker(settings)

    async def handle(event: CloudEvent) -> None:
        residents = event.data["residents"]
        if residents == hang_at:
            with journal.open("a") as out:
                out.write(f"started {residents}\n")
            await asyncio.Event().wait()
        with journal.open("a") as out:
            out.write(f"done {residents}\n")

    subscribe_events(
        broker,
        topics=[topic],
        group_id=group,
        routes=EventRoutes({POPULATION_REPORTED: handle}),
        key=_community,
        max_in_flight=4,
        redrive=False,  # one member: no second join rebalancing the group mid-test
    )
    await broker.start()
    await wait_for(lambda: _settled(broker), timeout=60)
    with journal.open("a") as out:
        out.write("ready\n")
    await asyncio.Event().wait()


if __name__ == "__main__":
    bootstrap, topic, group, journal, hang_at = sys.argv[1:6]
    asyncio.run(main(bootstrap, topic, group, Path(journal), int(hang_at)))
