"""A process that runs a job under a lease in FerretDB, so a test can SIGKILL the holder.

    python -m tests.integration.runtime.lease_holder_process MONGO_URI DATABASE LEASE OWNER TTL JOURNAL

Appends "<owner> <time>" to JOURNAL each time its job runs (every 0.1 s while it holds the lease).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from civicgrid_runtime.jobs import MongoLeases, leased, periodic
from civicgrid_runtime.stores.mongo import create_client


async def main(uri: str, database: str, lease: str, owner: str, ttl: float, journal: Path) -> None:
    client = create_client(uri, "lease-holder-test")

    async def job() -> int:
        with journal.open("a") as out:
            out.write(f"{owner} {time.time():.3f}\n")
        return 0

    store = MongoLeases(client[database]["leases"])
    stop = await leased(lease, store, periodic(lease, job, 0.1), owner=owner, ttl=ttl)()
    try:
        await asyncio.Event().wait()
    finally:
        await stop()


if __name__ == "__main__":
    uri, database, lease, owner, ttl, journal = sys.argv[1:7]
    asyncio.run(main(uri, database, lease, owner, float(ttl), Path(journal)))
