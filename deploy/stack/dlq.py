"""``./civicgrid dlq list | show | redrive``: dead letters, replayed to the group that rejected them.

    ./civicgrid dlq list                              # every dead-letter topic: counts by group and reason
    ./civicgrid dlq show --topic municipal.hotline12345.requests.v1 --limit 5
    ./civicgrid dlq redrive --group resources.places --dry-run
    ./civicgrid dlq redrive --group resources.places  # copies to civicgrid.redrive.resources.places

Payloads and reasons are shown with personal data masked (``civicgrid_runtime.pii``) and truncated.
A redrive copies only records not redriven before (tracked by committed offsets, see
``civicgrid_runtime.kafka.redrive``), so running it twice replays nothing twice.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from collections.abc import Sequence
from typing import Any

from civicgrid_runtime.kafka.redrive import (
    UNNAMED_GROUP,
    DeadLetter,
    dead_letter_topics,
    read_dead_letters,
    redrive,
    redrive_positions,
)
from civicgrid_runtime.pii import redact_text

PAYLOAD_LIMIT = 400
REASON_LIMIT = 160
SHOWN_HEADERS = ("ce_type", "ce_id", "ce_source", "ce_time", "ce_partitionkey", "ce_correlationid")


def _say(message: str) -> None:
    print(message, flush=True)


def _bootstrap(args: argparse.Namespace) -> str:
    if args.bootstrap:
        return str(args.bootstrap)
    if os.environ.get("CIVICGRID_KAFKA_BOOTSTRAP"):
        return os.environ["CIVICGRID_KAFKA_BOOTSTRAP"]
    from deploy.local.config import Settings

    return Settings.from_env().connection_env()["CIVICGRID_KAFKA_BOOTSTRAP"]


def _masked(text: str, limit: int) -> str:
    clean = redact_text(text)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


async def _pending_flags(
    bootstrap: str, topic: str, letters: Sequence[DeadLetter]
) -> dict[tuple[int, int], bool]:
    """Whether each record is still to be redriven (False: already copied to its group)."""
    partitions = sorted({d.partition for d in letters})
    positions: dict[str, dict[int, int]] = {}
    for group in sorted({d.group for d in letters} - {UNNAMED_GROUP}):
        positions[group] = await redrive_positions(bootstrap, group, topic, partitions)
    return {
        (d.partition, d.offset): d.group == UNNAMED_GROUP or d.offset >= positions[d.group][d.partition]
        for d in letters
    }


async def _list(args: argparse.Namespace) -> dict[str, Any]:
    bootstrap = _bootstrap(args)
    result: dict[str, Any] = {}
    for topic in await dead_letter_topics(bootstrap, args.topic or ()):
        letters = await read_dead_letters(bootstrap, topic)
        if not letters and args.topic is None:
            continue
        pending = await _pending_flags(bootstrap, topic, letters)
        groups: dict[str, dict[str, Any]] = {}
        for letter in letters:
            entry = groups.setdefault(letter.group, {"records": 0, "to_redrive": 0, "reasons": {}})
            entry["records"] += 1
            entry["to_redrive"] += int(
                pending[(letter.partition, letter.offset)] and letter.group != UNNAMED_GROUP
            )
            reason = f"{letter.exception}: {_masked(letter.reason, REASON_LIMIT)}"
            entry["reasons"][reason] = entry["reasons"].get(reason, 0) + 1
        result[topic] = {"records": len(letters), "groups": groups}
    return result


def _print_list(result: dict[str, Any]) -> None:
    if not result:
        _say("no dead letters")
        return
    for topic, summary in result.items():
        _say(f"{topic}: {summary['records']} record(s)")
        for group, entry in summary["groups"].items():
            _say(f"  group {group}: {entry['records']} record(s), {entry['to_redrive']} not redriven yet")
            for reason, count in sorted(entry["reasons"].items(), key=lambda item: -item[1]):
                _say(f"    {count:>5} × {reason}")
    if any(UNNAMED_GROUP in s["groups"] for s in result.values()):
        _say(f"\n{UNNAMED_GROUP}: written before dead letters named their consumer group; not redriven.")


def _describe(letter: DeadLetter, pending: bool) -> dict[str, Any]:
    headers = {k: _masked(v.decode("utf-8", "replace"), REASON_LIMIT) for k, v in letter.headers}
    return {
        "at": f"{letter.topic}[{letter.partition}]@{letter.offset}",
        "group": letter.group,
        "failed_at": letter.failed_at,
        "exception": letter.exception,
        "reason": _masked(letter.reason, REASON_LIMIT),
        "original": f"{letter.original_topic}[{letter.header('x-dlq-original-partition')}]"
        f"@{letter.header('x-dlq-original-offset')}",
        "attempts": letter.header("x-dlq-attempts"),
        "redriven": not pending,
        "key": _masked((letter.key or b"").decode("utf-8", "replace"), 80),
        "event": {h: headers[h] for h in SHOWN_HEADERS if h in headers},
        "payload": _masked(letter.value.decode("utf-8", "replace"), PAYLOAD_LIMIT),
    }


async def _show(args: argparse.Namespace) -> list[dict[str, Any]]:
    bootstrap = _bootstrap(args)
    shown: list[dict[str, Any]] = []
    for topic in await dead_letter_topics(bootstrap, args.topic or ()):
        letters = [d for d in await read_dead_letters(bootstrap, topic) if args.group in (None, d.group)]
        pending = await _pending_flags(bootstrap, topic, letters)
        for letter in letters:
            if len(shown) >= args.limit:
                return shown
            shown.append(_describe(letter, pending[(letter.partition, letter.offset)]))
    return shown


def _print_show(shown: list[dict[str, Any]]) -> None:
    if not shown:
        _say("no dead letters")
    for item in shown:
        _say(f"{item['at']}  group {item['group']}  failed {item['failed_at']}  redriven={item['redriven']}")
        _say(
            f"  {item['exception']}: {item['reason']}  (attempts {item['attempts']}, from {item['original']})"
        )
        _say(f"  key {item['key']}  " + "  ".join(f"{k}={v}" for k, v in item["event"].items()))
        _say(f"  payload {item['payload']}\n")


async def _redrive(args: argparse.Namespace) -> dict[str, Any]:
    report = await redrive(
        _bootstrap(args), topics=args.topic or (), group=args.group, limit=args.limit, dry_run=args.dry_run
    )
    return {
        "dry_run": report.dry_run,
        "copied": len(report.copied),
        "by_group": report.by_group(),
        "already_redriven": report.already_redriven,
        "skipped_unnamed": report.skipped_unnamed,
        "records": [
            f"{d.topic}[{d.partition}]@{d.offset} → civicgrid.redrive.{d.group}" for d in report.copied
        ],
    }


def _print_redrive(result: dict[str, Any]) -> None:
    verb = "would copy" if result["dry_run"] else "copied"
    _say(f"{verb} {result['copied']} dead letter(s) to their groups' redrive topics")
    for group, count in result["by_group"].items():
        _say(f"  {count:>5} → civicgrid.redrive.{group}")
    _say(f"already redriven before: {result['already_redriven']}")
    if result["skipped_unnamed"]:
        _say(f"not redriven ({UNNAMED_GROUP}, no consumer group named): {result['skipped_unnamed']}")


def cmd_dlq(args: argparse.Namespace) -> int:
    result: Any
    if args.dlq_command == "list":
        result = asyncio.run(_list(args))
        printer: Any = _print_list
    elif args.dlq_command == "show":
        result, printer = asyncio.run(_show(args)), _print_show
    else:
        result, printer = asyncio.run(_redrive(args)), _print_redrive
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        printer(result)
    return 0


def register(sub: Any) -> None:
    """Add ``dlq`` to the ``./civicgrid`` sub-commands."""
    dlq = sub.add_parser("dlq", help="dead letters: list, show, redrive to the group that rejected them")
    commands = dlq.add_subparsers(dest="dlq_command", required=True)

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--topic", action="append", help="a topic or its .dlq (repeatable; default: every .dlq topic)"
        )
        parser.add_argument("--bootstrap", help="Kafka bootstrap servers (default: the local stack's)")
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    common(commands.add_parser("list", help="dead-letter topics with counts by consumer group and reason"))
    show = commands.add_parser("show", help="records: headers, reason, key, payload (personal data masked)")
    common(show)
    show.add_argument("--group", help="only records this consumer group rejected")
    show.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    again = commands.add_parser(
        "redrive", help="replay dead letters to the consumer group that rejected them"
    )
    common(again)
    again.add_argument("--group", help="only records this consumer group rejected")
    again.add_argument("--limit", type=int, help="at most this many records")
    again.add_argument("--dry-run", action="store_true", help="say what would be replayed; change nothing")
    dlq.set_defaults(func=cmd_dlq)
