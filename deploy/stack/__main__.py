"""``./civicgrid <command>``: up, down, status, logs, test, token."""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from xml.etree import ElementTree

from deploy.local import servers as local_servers
from deploy.local.cache import BuildError
from deploy.local.config import ConfigError, Settings
from deploy.local.toolchain import ToolchainError
from deploy.stack import guard, services

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHECK_PATHS = ["contracts", "libs", "services", "deploy", "tests", "bench"]


def _say(message: str) -> None:
    print(message, flush=True)


def _prefixed(prefix: str) -> Callable[[str], None]:
    def say(message: str) -> None:
        _say(prefix + message)

    return say


def _servers_up(settings: Settings | None = None) -> dict[str, str]:
    try:
        return local_servers.up(settings=settings, report=_say)
    except (ToolchainError, BuildError, ConfigError, local_servers.StartupError) as error:
        sys.exit(str(error))


def start_services(
    settings: Settings,
    servers: dict[str, str],
    *,
    seed: bool = True,
    reseed: bool = False,
    names: Sequence[str] | None = None,
    report: Callable[[str], None] = _say,
    replicas: int | None = None,
) -> dict[str, str]:
    """Start the services (all, or ``names``) that are not running, each until ready, then seed the demo
    where it was never seeded (or again with ``reseed``). Running services and seeded data are left alone.

    With ``replicas`` each service runs as that many instances (ports + 100 each, see
    :mod:`deploy.stack.services`) and replicas above it are stopped; without, the first instance is
    started and the others left as they are. The URLs returned are the first instances'."""
    from deploy.stack import demo

    urls: dict[str, str] = {}
    for spec in services.SERVICES:
        if names is not None and spec.name not in names:
            continue
        for replica in range(1, (replicas or 1) + 1):
            instance = spec.instance(replica)
            if services.is_running(spec, settings, replica):
                report(f"{instance}: already running")
            else:
                report(f"{instance}: starting")
            url = services.start(spec, servers, settings, replica=replica)
            urls.setdefault(spec.name, url)
            report(f"{instance}: ready at {url}")
        if replicas is not None:
            for extra in services.running_replicas(spec, settings):
                if extra > replicas and services.stop(spec, settings, extra):
                    report(f"{spec.instance(extra)}: stopped (above --replicas {replicas})")
    if seed:
        demo.seed(urls, settings, again=reseed, report=report)
    return urls


def cmd_up(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env().with_kafka_brokers(args.kafka_brokers)
    except ConfigError as error:
        sys.exit(str(error))
    env = _servers_up(settings)
    urls = start_services(settings, env, seed=not args.no_demo, reseed=args.reseed, replicas=args.replicas)
    from deploy.stack import demo

    _say("\nCivicGrid is up:")
    for spec in services.SERVICES:
        if spec.name not in urls:
            continue
        url = urls[spec.name]
        _say(f"  {spec.name:<14} {url}/docs   (health {url}/readyz)")
        others = [spec.url(r) for r in services.running_replicas(spec, settings) if r > 1]
        if others:
            _say(f"  {'':<14} replicas: {', '.join(others)}")
    for key, value in env.items():
        _say(f"  {key}={value}")
    page = demo.phone_page(urls, settings)
    if page:
        _say(f"\nPhone page of demo member 楼栋长1-1 (open in a browser):\n  {page}")
    _say("\nMint a token:  ./civicgrid token --role admin")
    return 0


OTHER_STACKS = ("test", "faults")


def cmd_down(_args: argparse.Namespace) -> int:
    """The development stack's services and servers, and the test and fault suites' servers if running."""
    settings = Settings.from_env()
    for spec in reversed(services.SERVICES):
        for replica in reversed(services.running_replicas(spec, settings)):
            if services.stop(spec, settings, replica):
                _say(f"{spec.instance(replica)}: stopped")
    local_servers.down(report=_say)
    for stack in OTHER_STACKS:
        other = settings.for_stack(stack)
        if any(row.pid is not None for row in local_servers.status(settings=other)):
            local_servers.down(settings=other, report=_prefixed(f"[{stack} servers] "))
    return 0


def cmd_status(_args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    for row in local_servers.status():
        _say(f"{row.name:<14} {row.state:<30} {row.address}")
    for stack in OTHER_STACKS:
        for row in local_servers.status(settings=settings.for_stack(stack)):
            if row.pid is not None:
                _say(f"{row.name + ' (' + stack + ')':<22} {row.state:<22} {row.address}")
    for spec in services.SERVICES:
        for replica in services.running_replicas(spec, settings) or [1]:
            running = services.is_running(spec, settings, replica)
            healthy = False
            if running:
                try:
                    healthy = services.http_ok(spec.url(replica) + "/readyz")
                except OSError:
                    healthy = False
            state = "running" if running else "stopped"
            _say(f"{spec.instance(replica):<14} {state:<8} healthy={healthy} {spec.url(replica)}")
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    instances = [(s, r) for s in services.SERVICES for r in range(1, services.MAX_REPLICAS + 1)]
    found = next(((s, r) for s, r in instances if s.instance(r) == args.name), None)
    if found is None:
        return subprocess.call(
            [sys.executable, "-m", "deploy.local", "logs", args.name, "-n", str(args.lines)]
        )
    spec, replica = found
    lines = services.log_path(spec, settings, replica).read_text(errors="replace").splitlines()
    print("\n".join(lines[-args.lines :]))
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    argv = [
        sys.executable,
        "-m",
        "civicgrid_runtime.auth",
        "mint",
        "--keys-dir",
        str(services.keys_dir(settings)),
    ]
    for role in args.role:
        argv += ["--role", role]
    if args.region:
        argv += ["--region", args.region]
    if args.person_id:
        argv += ["--person-id", args.person_id]
    return subprocess.call(argv)


def _step(title: str, argv: Sequence[str], env: dict[str, str]) -> bool:
    _say(f"\n==> {title}: {' '.join(argv)}")
    return subprocess.call(list(argv), cwd=ROOT, env=env) == 0


def _pytest_counts(report: Path) -> tuple[int, int]:
    """(passed, failed) from pytest's JUnit XML report; errors count as failures."""
    if not report.exists():
        return 0, 1
    suites = ElementTree.parse(report).getroot()
    passed = failed = 0
    for suite in suites.iter("testsuite"):
        total, skipped = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
        bad = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        failed += bad
        passed += total - skipped - bad
    return passed, failed


def _start_in_background(stack: str, settings: Settings) -> Future[dict[str, str]]:
    """Bring a stack's servers up in a thread (lint and type checks run meanwhile)."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{stack}-servers")
    future = pool.submit(local_servers.up, settings=settings, report=_prefixed(f"[{stack} servers] "))
    pool.shutdown(wait=False)
    return future


def _dev_snapshot(dev: Settings) -> guard.Snapshot | None:
    if not guard.running(dev):
        return None
    try:
        return guard.snapshot(dev)
    except Exception as error:  # the check must never be the reason a test run fails to start
        _say(f"development stack: could not take a snapshot ({type(error).__name__}: {error})")
        return None


def _dev_stack_unchanged(dev: Settings, before: guard.Snapshot) -> bool:
    after = guard.snapshot(dev)
    changed = guard.differences(before.demo, after.demo)
    other = guard.differences(before.footprint, after.footprint)
    where = f"{dev.state_dir}, Kafka {dev.kafka_port}, Neo4j {dev.neo4j_port}, FerretDB {dev.mongo_port}"
    if other:
        _say(
            f"\nnote: the development servers ({where}) changed outside the demo during the run "
            "(something else used them meanwhile, or a test was pointed there):"
        )
        for line in other[:40]:
            _say(f"  {line}")
    if changed:
        _say(f"\nthe development stack's demo data changed during the test run ({where}):")
        for line in changed:
            _say(f"  {line}")
        return False
    _say(f"\ndevelopment stack ({where}): demo data and the demo member's feed unchanged by the test run")
    return True


def cmd_test(args: argparse.Namespace) -> int:
    """Lint, types, layering, schemas, then pytest on the test stack's own servers.

    The test servers (``.local/test``, ports + 10000) start in the background while the static checks
    run; the fault suite's servers (``.local/faults``, ports + 20000) too when the whole suite runs. A
    running development stack (``./civicgrid up``) is never used, and is checked to be unchanged after.
    """
    dev = Settings.from_env()
    test_settings = dev.for_stack("test")
    before = _dev_snapshot(dev)
    starting = {"test": _start_in_background("test", test_settings)}
    if not args.pytest_args:
        starting["faults"] = _start_in_background("faults", dev.for_stack("faults"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for variable in test_settings.connection_env():
        env.pop(variable, None)  # the developer's exported CIVICGRID_* point at their own stack
    results = {
        "ruff": _step("lint", [str(BIN / "ruff"), "check", *CHECK_PATHS], env),
        "mypy": _step("types", [str(BIN / "mypy"), *CHECK_PATHS], env),
        "imports": _step("layering", [str(BIN / "lint-imports"), "--no-cache"], env),
        "contracts": _step("schemas", [sys.executable, "-m", "civicgrid_contracts", "check"], env),
    }
    try:
        env.update(starting["test"].result())
    except (ToolchainError, local_servers.StartupError, OSError) as error:
        _say(f"\nthe test servers did not start: {error}")
        results["servers"] = False
    report = test_settings.state_dir / "pytest-report.xml"
    report.unlink(missing_ok=True)
    if results.get("servers", True):
        pytest_argv = [sys.executable, "-m", "pytest", f"--junitxml={report}", *args.pytest_args]
        results["pytest"] = _step("tests", pytest_argv, env)
    else:
        results["pytest"] = False
    if "faults" in starting:
        with contextlib.suppress(Exception):  # the fault suite reported its own servers' failure
            starting["faults"].result()
    if before is not None:
        results["dev-stack"] = _dev_stack_unchanged(dev, before)
    failed_steps = [name for name, ok in results.items() if not ok]
    passed, failed = _pytest_counts(report)
    failed += len([name for name in failed_steps if name != "pytest"])
    _say("\n" + ("all checks passed" if not failed_steps else f"FAILED: {', '.join(failed_steps)}"))
    _say(f"summary: {passed} passed, {failed} failed")
    return 1 if failed_steps else 0


def cmd_bench(args: argparse.Namespace) -> int:
    env = {**os.environ, **_servers_up(), "PYTHONPATH": str(ROOT)}
    return subprocess.call([sys.executable, "-m", f"bench.{args.name}", *args.bench_args], cwd=ROOT, env=env)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./civicgrid")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="servers + services + demo data")
    up.add_argument("--no-demo", action="store_true", help="seed no demo data")
    up.add_argument("--reseed", action="store_true", help="seed the demo again (seeded once by default)")
    up.add_argument(
        "--replicas",
        type=int,
        choices=range(1, services.MAX_REPLICAS + 1),
        metavar="N",
        default=None,
        help="run N instances of each service (ports + 100 each; one consumer group per service, periodic "
        "jobs under leases); default: the first instance, others left as they are",
    )
    up.add_argument(
        "--kafka-brokers",
        type=int,
        default=None,
        metavar="N",
        help="Kafka as a KRaft cluster of N nodes (3: topics replicated 3 times, min.insync.replicas 2); "
        "default: the size the development Kafka was formatted for, else 1",
    )
    up.set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop services and servers").set_defaults(func=cmd_down)
    sub.add_parser("status", help="what runs").set_defaults(func=cmd_status)
    logs = sub.add_parser("logs", help="a service's or server's log")
    logs.add_argument("name")
    logs.add_argument("-n", "--lines", type=int, default=60)
    logs.set_defaults(func=cmd_logs)
    token = sub.add_parser("token", help="mint a development token")
    token.add_argument("--role", action="append", required=True)
    token.add_argument("--region")
    token.add_argument("--person-id")
    token.set_defaults(func=cmd_token)
    test = sub.add_parser("test", help="lint, types, layering, schemas and every test on real servers")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER)
    test.set_defaults(func=cmd_test)
    bench = sub.add_parser("bench", help="run a benchmark from bench/ (prints JSON)")
    bench.add_argument("name", help="e.g. kafka_baseline")
    bench.add_argument("bench_args", nargs=argparse.REMAINDER)
    bench.set_defaults(func=cmd_bench)
    from deploy.stack import dlq

    dlq.register(sub)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
