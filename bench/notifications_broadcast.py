"""A street broadcast to ``--members`` members (1,000,000 by default): from the POST until members see it.

    ./civicgrid bench notifications_broadcast [--members 1000000] [--sample 30] [--streams 10]

Uses the servers named by CIVICGRID_KAFKA_BOOTSTRAP / CIVICGRID_MONGO_URI (the test stack:
127.0.0.1:19092, mongodb://127.0.0.1:37017) and a database of its own (dropped at the end).

1. Writes the member directory the audience is resolved from: ``--members`` people projections (one
   street, 100 communities), ``insert_many`` in chunks of 10,000 (timed).
2. Starts the notifications app in this process (uvicorn), opens ``--streams`` sampled members' SSE
   streams (all ``ready``).
3. ``POST /broadcasts`` (admin, audience ``street:<code>``, critical) and times, for ``--sample``
   members spread over the directory, until their first feed page (``GET /members/{id}/feed``, over
   HTTP, polled) shows it, and until the open streams' ``entry`` event arrives.

The broadcast is one document (fan-out on read): nothing is written per member, and a member's
audiences are resolved lazily, from their own projections, when they read their feed or open a
stream; so the directory's size does not enter the POST, only each reader's own lookups (by ``_id``,
which FerretDB serves from its index). The raw store operation measured in the same run is one
``insert_one`` and one ``find_one`` by ``_id``; the ratio is the time until the whole sample saw it
over their sum (p50s). Web Push to the audience's phones is ``notifications_push``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from bench.notifications_raw import load, store_round_trips, summary
from civicgrid_notifications.bootstrap import create_app
from civicgrid_notifications.settings import NotificationsSettings
from civicgrid_runtime.auth import Role, TokenIssuer
from civicgrid_runtime.stores.mongo import create_client

STREET = "420106002"
TITLE = "暴雨红色预警"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def community_of(i: int) -> str:
    return f"{STREET}{i % 100 + 1:03d}"


async def directory(db: Any, members: int) -> float:
    started = time.perf_counter()
    chunk = 10_000
    gate = asyncio.Semaphore(2)

    async def write(start: int) -> None:
        docs = [
            {"_id": f"r{i}", "community_code": community_of(i), "display_name": f"居民{i}"}
            for i in range(start, min(members, start + chunk))
        ]
        async with gate:
            await db["people"].insert_many(docs, ordered=False)

    await asyncio.gather(*(write(start) for start in range(0, members, chunk)))
    return time.perf_counter() - started


async def main(args: argparse.Namespace) -> dict[str, Any]:
    kafka = os.environ.get("CIVICGRID_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    mongo_uri = os.environ.get("CIVICGRID_MONGO_URI", "mongodb://127.0.0.1:37017")
    database = f"bench_notifications_broadcast_{uuid.uuid4().hex[:8]}"
    mongo = create_client(mongo_uri, "bench-broadcast")
    keys = Path(tempfile.mkdtemp(prefix="bench-keys-"))
    result: dict[str, Any] = {"members": args.members, "load_start": load()}
    server: uvicorn.Server | None = None
    task: asyncio.Task[None] | None = None
    listeners: list[asyncio.Task[None]] = []
    try:
        result["directory_write_s"] = round(await directory(mongo[database], args.members), 1)
        result["directory_people"] = await mongo[database]["people"].estimated_document_count()
        result["raw_store"] = await store_round_trips(mongo[f"{database}_raw"], 100)
        settings = NotificationsSettings(
            kafka_bootstrap_servers=kafka,
            mongo_uri=mongo_uri,
            mongo_database=database,
            keys_dir=keys,
            consumer_group=f"bench-broadcast-{uuid.uuid4().hex[:8]}",
            consumer_offset_reset="latest",
            log_level="WARNING",
            log_json=False,
        )
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
        )
        task = asyncio.create_task(server.serve())
        for _ in range(600):
            if server.started:
                break
            await asyncio.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        issuer = TokenIssuer(keys, settings.jwt_issuer, settings.jwt_audience)
        admin = {"Authorization": "Bearer " + issuer.mint("bench-admin", [Role.ADMIN])}
        rng = random.Random(7)
        sample = [f"r{rng.randrange(args.members)}" for _ in range(args.sample)]

        def auth(member: str) -> dict[str, str]:
            return {"Authorization": "Bearer " + issuer.mint(member, [Role.MEMBER], person_id=member)}

        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        async with httpx.AsyncClient(timeout=httpx.Timeout(30, read=300), limits=limits) as client:
            ready = {m: asyncio.Event() for m in sample[: args.streams]}
            arrived: dict[str, float] = {}

            async def listen(member: str) -> None:
                url = f"{base}/members/{member}/stream"
                async with client.stream("GET", url, headers=auth(member)) as response:
                    async for line in response.aiter_lines():
                        if line.startswith("event: ready"):
                            ready[member].set()
                        if line.startswith("data:") and TITLE in line:
                            arrived[member] = time.perf_counter()
                            return

            listeners = [asyncio.create_task(listen(m)) for m in ready]
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in ready.values())), timeout=120)
            for member in sample[:3]:  # warm: first requests of the app, its connection pools
                (await client.get(f"{base}/members/{member}/feed", headers=auth(member))).raise_for_status()

            seen: dict[str, float] = {}

            async def reader(member: str, started: float) -> None:
                headers = auth(member)
                while time.perf_counter() - started < 60:
                    response = await client.get(f"{base}/members/{member}/feed?limit=20", headers=headers)
                    response.raise_for_status()
                    items = response.json()["items"]
                    if items and items[0]["title"] == TITLE:
                        seen[member] = time.perf_counter()
                        return

            body = {
                "audience": f"street:{STREET}",
                "community_code": community_of(0),
                "category": "notice",
                "priority": "critical",
                "title": TITLE,
                "body": "今晚有特大暴雨，请勿外出。",
            }
            load_post = load()
            started = time.perf_counter()
            response = await client.post(f"{base}/broadcasts", json=body, headers=admin)
            answered = time.perf_counter()
            response.raise_for_status()
            await asyncio.gather(*(reader(m, started) for m in sample))
            await asyncio.wait_for(asyncio.gather(*listeners), timeout=60)
            load_end = load()
        page_ms = [(t - started) * 1000 for t in seen.values()]
        stream_ms = [(t - started) * 1000 for t in arrived.values()]
        raw = result["raw_store"]
        raw_ms = raw["insert_one_ms"]["p50"] + raw["find_one_by_id_ms"]["p50"]
        all_seen = max(page_ms + stream_ms)
        result.update(
            {
                "broadcast_documents": await mongo[database]["broadcasts"].count_documents({}),
                "post_answered_ms": round((answered - started) * 1000, 1),
                "sample_members": len(sample),
                "sample_seen_on_feed_page": len(seen),
                "visible_on_feed_page_ms": summary(page_ms),
                "open_streams": len(ready),
                "sample_streams_got_it": len(arrived),
                "visible_on_stream_ms": summary(stream_ms),
                "whole_sample_saw_it_ms": round(all_seen, 1),
                "target": {"visible_ms_below": 1000, "met": all_seen < 1000 and len(seen) == len(sample)},
                "raw_insert_plus_find_ms": round(raw_ms, 2),
                "ratio_whole_sample_to_raw": round(all_seen / raw_ms, 1) if raw_ms else None,
                "load": {"post": load_post, "end": load_end},
            }
        )
        return result
    finally:
        for listener in listeners:
            listener.cancel()
        if server is not None and task is not None:
            server.should_exit = True
            with contextlib.suppress(Exception):
                await task
        await mongo.drop_database(database)
        await mongo.drop_database(f"{database}_raw")
        await mongo.close()


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=30, help="members whose feed page is read")
    parser.add_argument("--streams", type=int, default=10, help="of them, members with an open stream")
    return parser.parse_args()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(parse())), ensure_ascii=False, indent=2))
