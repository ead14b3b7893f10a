"""A consumer run as its own process so a test can kill it with SIGKILL mid-handler.

    python -m tests.integration.consumer_process BOOTSTRAP TOPIC GROUP JOURNAL MODE

MODE ``hang``: journal "started <id>" then never finish. MODE ``finish``: journal "done <id>".
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from civicgrid_contracts.envelope import CloudEvent
from civicgrid_runtime.kafka import EventRoutes, create_broker, subscribe_events
from civicgrid_runtime.settings import ServiceSettings


async def main(bootstrap: str, topic: str, group: str, journal: Path, mode: str) -> None:
    broker = create_broker(ServiceSettings(kafka_bootstrap_servers=bootstrap, service_name="kill-test"))

    async def handle(event: CloudEvent) -> None:
        with journal.open("a") as out:
            out.write(f"started {event.id}\n")
        if mode == "hang":
            await asyncio.Event().wait()
        with journal.open("a") as out:
            out.write(f"done {event.id}\n")

    routes = EventRoutes({"cn.civicgrid.municipal.statistics.population.reported.v1": handle})
    subscribe_events(broker, topics=[topic], group_id=group, routes=routes)
    await broker.start()
    with journal.open("a") as out:
        out.write("ready\n")
    await asyncio.Event().wait()


if __name__ == "__main__":
    bootstrap, topic, group, journal, mode = sys.argv[1:6]
    asyncio.run(main(bootstrap, topic, group, Path(journal), mode))
