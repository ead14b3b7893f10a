"""Deliberation benchmark: tallying an owners' vote of a 10,000-household compound (target < 1 s).

    ./civicgrid bench deliberation_tally [--households N] [--turnout 0.8] [--repeat 5] [--no-store]

Prints JSON:

- ``domain``: building the roll (``voters_of``) and deciding (``tally``: double majority, exact
  fractions, silent majority on), per household and per owner, p50 and max over ``--repeat`` runs;
- ``store`` (unless ``--no-store``): the same vote through the service's MongoDB ports, as closing a
  vote does it: the roll frozen once (``MongoRolls.freeze``), every ballot cast through
  ``MongoBallots.cast`` (16 at a time, each under its bucket's lease), then the close path timed
  (p50 of ``--repeat``): roll read (``MongoRolls.load``, a fresh instance so no cache), every bucket's
  lease taken (``MongoBallots.sealed``), ballots read (``of_vote``: 64 bucket documents) and ``tally``.
  In the same run, the same ballots stored one document per voter (the earlier layout) and read raw
  (``find`` by ``vote_id``): ``close_path_vs_raw_read`` is the close path's time over that read's, and
  ``ballots_counted_as_cast`` says every cast ballot was read back once with its choice. Uses the server
  named by CIVICGRID_MONGO_URI and a database of its own, dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from civicgrid_deliberation.adapters.mongo import BALLOT_BUCKETS, MongoBallots, MongoRolls, MongoStore
from civicgrid_deliberation.domain.voting import (
    AssemblyRules,
    Choice,
    Unit,
    VoteBasis,
    matter,
    tally,
    voters_of,
)
from civicgrid_runtime.stores.mongo import create_client

COMPOUND = "420106002003-C01"


def compound(households: int, seed: int = 7) -> list[Unit]:
    """Units of 45-180 m² (two decimals); one in ten co-owned by two people, a few owners with two units."""
    rng = random.Random(seed)
    units = []
    for i in range(households):
        owners = (f"p{i}",) if i % 10 else (f"p{i}", f"q{i}")
        if i % 97 == 1:
            owners = (f"p{i - 1}",)  # the owner of the previous unit owns this one too
        code = f"{COMPOUND}-B{i // 400 + 1:02d}-U{i // 100 % 4 + 1}-{i % 100 + 101}"
        units.append(Unit(code, rng.randint(4500, 18000), owners))
    return units


def ballots_for(voter_ids: list[str], turnout: float, seed: int = 11) -> dict[str, Choice]:
    rng = random.Random(seed)
    cast = rng.sample(voter_ids, int(len(voter_ids) * turnout))
    return {v: rng.choices([Choice.APPROVE, Choice.OPPOSE, Choice.ABSTAIN], [70, 22, 8])[0] for v in cast}


def timed(repeat: int, fn: Any) -> tuple[float, float, Any]:
    runs, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        runs.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(runs), 2), round(max(runs), 2), result


def domain_figures(units: list[Unit], turnout: float, repeat: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    subject = matter("use_maintenance_fund")
    for basis in VoteBasis:
        rules = AssemblyRules(vote_basis=basis, silent_majority=True)
        roll_p50, roll_max, voters = timed(repeat, lambda b=basis: voters_of(units, b))
        ballots = ballots_for(list(voters), turnout)
        tally_p50, tally_max, decision = timed(
            repeat, lambda v=voters, bl=ballots, r=rules: tally(v, bl, subject, r)
        )
        figures[basis.value] = {
            "voters": len(voters),
            "ballots": len(ballots),
            "roll_ms_p50": roll_p50,
            "roll_ms_max": roll_max,
            "tally_ms_p50": tally_p50,
            "tally_ms_max": tally_max,
            "outcome": decision.outcome.value,
            "silent_counted_as": decision.silent_counted_as.value if decision.silent_counted_as else None,
            "measures": {m.name: m.to_data()["ratio_exact"] for m in decision.measures},
        }
    return figures


async def store_figures(units: list[Unit], turnout: float, uri: str, repeat: int) -> dict[str, Any]:
    client = create_client(uri, "bench-deliberation")
    name = f"bench_deliberation_{uuid.uuid4().hex[:8]}"
    try:
        store = MongoStore(client[name])
        await store.ensure_indexes()
        rules = AssemblyRules(silent_majority=True)
        voters = voters_of(units, rules.vote_basis)
        ballots = ballots_for(list(voters), turnout)
        vote_id = "vt-bench"
        started = time.perf_counter()
        await MongoRolls(store).freeze(vote_id, voters)
        freeze_ms = (time.perf_counter() - started) * 1000
        port = MongoBallots(store)
        queue = list(ballots.items())
        started = time.perf_counter()

        async def worker() -> None:
            while queue:
                voter, choice = queue.pop()
                await port.cast(
                    vote_id, voter, choice, voters[voter].casters[0] if voters[voter].casters else voter
                )

        await asyncio.gather(*(worker() for _ in range(16)))
        cast_s = time.perf_counter() - started

        # The same number of ballots as one document each (the layout before buckets), written in bulk:
        # the raw read of them is what the close path is compared with, in this run, on this server.
        flat = store.db["ballots_one_per_voter"]
        now = datetime.now(UTC)
        await flat.insert_many(
            [
                {
                    "_id": f"{vote_id}|{v}",
                    "vote_id": vote_id,
                    "voter_id": v,
                    "choice": c.value,
                    "cast_at": now,
                }
                for v, c in ballots.items()
            ]
        )

        close_runs, roll_runs, seal_runs, read_runs, flat_runs = [], [], [], [], []
        decision, stored, flat_count = None, {}, 0
        for _ in range(repeat):
            started = time.perf_counter()
            roll = await MongoRolls(store).load(vote_id)  # a fresh instance: no cache
            roll_runs.append((time.perf_counter() - started) * 1000)
            seal_started = time.perf_counter()
            async with port.sealed(vote_id):
                seal_runs.append((time.perf_counter() - seal_started) * 1000)
                read_started = time.perf_counter()
                stored = await port.of_vote(vote_id)
                read_runs.append((time.perf_counter() - read_started) * 1000)
                decision = tally(roll, stored, matter("use_maintenance_fund"), rules)
            close_runs.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            flat_count = len([d async for d in flat.find({"vote_id": vote_id}, {"voter_id": 1, "choice": 1})])
            flat_runs.append((time.perf_counter() - started) * 1000)
        assert decision is not None
        close_ms, flat_ms = statistics.median(close_runs), statistics.median(flat_runs)
        return {
            "server": uri.split("@")[-1],
            "voters": len(voters),
            "ballots_cast": len(ballots),
            "ballots_counted": len(stored),
            "ballots_counted_as_cast": stored == ballots,
            "buckets": BALLOT_BUCKETS,
            "freeze_roll_ms": round(freeze_ms, 1),
            "cast_ballots_per_s": round(len(ballots) / cast_s, 1),
            "close_path_ms_p50": round(close_ms, 1),
            "close_path_ms_max": round(max(close_runs), 1),
            "close_read_roll_ms_p50": round(statistics.median(roll_runs), 1),
            "close_take_bucket_leases_ms_p50": round(statistics.median(seal_runs), 1),
            "close_read_buckets_ms_p50": round(statistics.median(read_runs), 1),
            "raw_read_one_doc_per_ballot_ms_p50": round(flat_ms, 1),
            "raw_read_documents": flat_count,
            "close_path_vs_raw_read": round(close_ms / flat_ms, 3),
            "outcome": decision.outcome.value,
        }
    finally:
        await client.drop_database(name)
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.deliberation_tally")
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--turnout", type=float, default=0.8)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-store", action="store_true", help="the domain figures only (no server)")
    args = parser.parse_args()
    units = compound(args.households)
    result: dict[str, Any] = {
        "households": args.households,
        "turnout": args.turnout,
        "domain": domain_figures(units, args.turnout, args.repeat),
        "target_ms": 1000,
    }
    if not args.no_store:
        uri = os.environ.get("CIVICGRID_MONGO_URI", "mongodb://127.0.0.1:27017")
        result["store"] = asyncio.run(store_figures(units, args.turnout, uri, args.repeat))
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
