"""Deliberation benchmark: tallying an owners' vote of a 10,000-household compound (target < 1 s).

    ./civicgrid bench deliberation_tally [--households N] [--turnout 0.8] [--repeat 5] [--no-store]

Prints JSON:

- ``domain``: building the roll (``voters_of``) and deciding (``tally``: double majority, exact
  fractions, silent majority on), per household and per owner, p50 and max over ``--repeat`` runs;
- ``store`` (unless ``--no-store``): the same vote through the service's MongoDB ports, as closing a
  vote does it: the roll frozen once (``MongoRolls.freeze``), every ballot cast through
  ``MongoBallots.cast`` (16 at a time), then the close path timed: roll read (``MongoRolls.load``, a
  fresh instance so no cache), ballots read (``MongoBallots.of_vote``) and ``tally``. Uses the server named
  by CIVICGRID_MONGO_URI and a database of its own, dropped at the end. On FerretDB 1.24 (no secondary
  index: the ballots query reads the collection) the store figures are FerretDB-bound.
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
from typing import Any

from civicgrid_deliberation.adapters.mongo import MongoBallots, MongoRolls, MongoStore
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


async def store_figures(units: list[Unit], turnout: float, uri: str) -> dict[str, Any]:
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

        started = time.perf_counter()
        roll = await MongoRolls(store).load(vote_id)
        roll_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        stored = await port.of_vote(vote_id)
        ballots_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        decision = tally(roll, stored, matter("use_maintenance_fund"), rules)
        tally_ms = (time.perf_counter() - started) * 1000
        return {
            "server": uri.split("@")[-1],
            "voters": len(roll),
            "ballots": len(stored),
            "freeze_roll_ms": round(freeze_ms, 1),
            "cast_ballots_per_s": round(len(ballots) / cast_s, 1),
            "close_read_roll_ms": round(roll_ms, 1),
            "close_read_ballots_ms": round(ballots_ms, 1),
            "close_tally_ms": round(tally_ms, 1),
            "close_total_ms": round(roll_ms + ballots_ms + tally_ms, 1),
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
        result["store"] = asyncio.run(store_figures(units, args.turnout, uri))
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
