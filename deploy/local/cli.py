"""``python -m deploy.local <command>``: run Kafka, Neo4j and FerretDB on loopback without Docker."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from deploy.local import processes, servers
from deploy.local.cache import BuildError
from deploy.local.config import STACK_PORT_OFFSETS, ConfigError, Settings
from deploy.local.toolchain import ToolchainError

EXIT_FAILURE = 1
EXIT_TOOLCHAIN = 2


def render_env(env: dict[str, str]) -> str:
    """``export NAME=value`` lines, shell-quoted where needed."""
    return "".join(f"export {key}={shlex.quote(value)}\n" for key, value in env.items())


def render_status(rows: Sequence[servers.ServerStatus]) -> str:
    header = ("SERVER", "VERSION", "STATE", "PID", "ADDRESS", "LOG")
    table = [header] + [
        (r.name, r.version, r.state, str(r.pid or "-"), r.address, str(r.log_path)) for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return "".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() + "\n" for row in table
    )


def follow(path: Path, lines: int) -> None:
    """Print the last lines of ``path``, then what is appended to it, until Ctrl-C."""
    print(processes.tail(path, lines), flush=True)
    with path.open("rb") as f:
        f.seek(0, 2)
        while True:
            chunk = f.read()
            if chunk:
                sys.stdout.write(chunk.decode("utf-8", errors="replace"))
                sys.stdout.flush()
            else:
                time.sleep(0.5)


def build_parser() -> argparse.ArgumentParser:
    names = ", ".join(servers.NAMES)
    parser = argparse.ArgumentParser(
        prog="python -m deploy.local",
        description=(
            "Install and run real Kafka, Neo4j and FerretDB (MongoDB protocol) servers on 127.0.0.1 "
            "without Docker. Downloads and builds are cached in $CIVICGRID_CACHE (~/.cache/civicgrid); "
            "data, pid files and logs live in $CIVICGRID_STATE (<repo>/.local)."
        ),
        epilog="See docs/local-servers.md. Without java/mvn/go, use `docker compose up -d` instead.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    stack = argparse.ArgumentParser(add_help=False)
    stack.add_argument(
        "--stack",
        choices=tuple(STACK_PORT_OFFSETS),
        default="dev",
        help="which set of servers: dev (./civicgrid up; default), test (the test suite's, in "
        "$CIVICGRID_STATE/test, ports + 10000) or faults (the fault suite's, ports + 20000)",
    )
    stack.add_argument(
        "--kafka-brokers",
        type=int,
        default=None,
        metavar="N",
        help="Kafka as a KRaft cluster of N nodes (node i on the Kafka ports + 2(i-1); topics replicated 3 "
        "times, min.insync.replicas 2, from 3 nodes on). Default: $CIVICGRID_KAFKA_BROKERS, else the size "
        "the stack's Kafka was formatted for, else 1",
    )

    p = sub.add_parser("up", parents=[stack], help="install (first run), start and wait until healthy")
    p.add_argument("names", nargs="*", metavar="NAME", help=f"servers to start ({names}; default all)")
    p.add_argument("--timeout", type=float, default=None, help="seconds to wait for each server")

    p = sub.add_parser("down", parents=[stack], help="stop servers (SIGTERM, then SIGKILL)")
    p.add_argument("names", nargs="*", metavar="NAME", help=f"servers to stop ({names}; default all)")

    p = sub.add_parser("status", parents=[stack], help="show whether each server runs and is healthy")
    p.add_argument("names", nargs="*", metavar="NAME")
    p.add_argument("--check", action="store_true", help="exit with status 1 unless all are healthy")

    p = sub.add_parser("logs", parents=[stack], help="print a server's log")
    p.add_argument("name", help=f"{names}, or a Kafka cluster's node kafka-2, kafka-3...")
    p.add_argument("-n", "--lines", type=int, default=50, help="how many last lines (default 50)")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")

    p = sub.add_parser(
        "reset", parents=[stack], help="stop servers and delete their data (keeps the download cache)"
    )
    p.add_argument("names", nargs="*", metavar="NAME")

    p = sub.add_parser(
        "env", parents=[stack], help="print export lines for the CIVICGRID_* connection variables"
    )
    p.add_argument("names", nargs="*", metavar="NAME")
    return parser


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env().for_stack(args.stack).with_kafka_brokers(args.kafka_brokers)
    command: str = args.command
    if command == "up":
        env = servers.up(args.names, settings=settings, timeout=args.timeout)
        sys.stdout.write(render_env(env))
    elif command == "down":
        servers.down(args.names, settings=settings)
    elif command == "status":
        rows = servers.status(args.names, settings=settings)
        sys.stdout.write(render_status(rows))
        if args.check and not all(r.healthy for r in rows):
            return EXIT_FAILURE
    elif command == "logs":
        kind = "kafka" if args.name.startswith("kafka-") else args.name
        matching = [s for s in servers.make_servers([kind], settings) if s.name == args.name]
        if not matching:
            print(f"no server {args.name} in this stack", file=sys.stderr)
            return EXIT_FAILURE
        server = matching[0]
        if not server.log_path.exists():
            print(f"{args.name}: no log yet at {server.log_path}", file=sys.stderr)
            return EXIT_FAILURE
        if args.follow:
            follow(server.log_path, args.lines)
        else:
            print(processes.tail(server.log_path, args.lines))
    elif command == "reset":
        servers.reset(args.names, settings=settings)
    elif command == "env":
        sys.stdout.write(render_env(servers.connection_env(args.names, settings)))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except ToolchainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_TOOLCHAIN
    except (servers.StartupError, BuildError, ConfigError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
