"""Demo data for ``./civicgrid up``: each service seeds its part through its own HTTP API, once.

A service's seeder is ``deploy/stack/demo_<package suffix>.py`` with ``seed(base_url, token)``. They run
in the order org-graph → resources → notifications, since later services build projections from the
earlier ones' events.

**Once**: after a service's seeder finished, a marker file is written beside the data of the store it
seeded (``<state>/neo4j/demo-seeded-org-graph.json``, ``<state>/ferretdb/demo-seeded-resources.json``,
``…-notifications.json``). A later ``./civicgrid up`` (after ``down``, after one service or server was
restarted) finds the marker and seeds nothing, so what a user changed (a renamed demo building, a member's
preferences) stays as it is, and ``up`` costs no seeding time. ``python -m deploy.local reset NAME`` deletes
the server's state directory and with it the marker, so an emptied store is seeded again; an interrupted
seed wrote no marker and runs again (the seeders are idempotent). ``./civicgrid up --reseed`` seeds again
on purpose.
"""

from __future__ import annotations

import importlib
import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from civicgrid_runtime.auth import Role, TokenIssuer
from deploy.local.config import Settings
from deploy.stack import services

SEEDERS = {
    "org-graph": "demo_orggraph",
    "resources": "demo_resources",
    "notifications": "demo_notifications",
    "deliberation": "demo_deliberation",
}


def _seeder(module: str) -> Callable[[str, str], None] | None:
    try:
        loaded = importlib.import_module(f"deploy.stack.{module}")
    except ModuleNotFoundError as error:
        if error.name == f"deploy.stack.{module}":
            return None
        raise
    seed: Callable[[str, str], None] = loaded.seed
    return seed


def _issuer(settings: Settings) -> TokenIssuer:
    return TokenIssuer(
        services.keys_dir(settings),
        issuer=os.environ.get("CIVICGRID_JWT_ISSUER", "civicgrid-dev"),
        audience=os.environ.get("CIVICGRID_JWT_AUDIENCE", "civicgrid"),
    )


STORES = {
    "org-graph": "neo4j",
    "resources": "ferretdb",
    "notifications": "ferretdb",
    "deliberation": "ferretdb",
}
"""The local server whose data each service's demo lives in (the marker sits in its state directory)."""


def marker_path(service: str, settings: Settings) -> Path:
    return settings.state_dir / STORES[service] / f"demo-seeded-{service}.json"


def seeded(service: str, settings: Settings) -> dict[str, Any] | None:
    """The marker of a finished seed of ``service`` (when, how long it took), or None."""
    try:
        marker: dict[str, Any] = json.loads(marker_path(service, settings).read_text())
    except (OSError, ValueError):
        return None
    return marker


def seed(
    urls: dict[str, str], settings: Settings, *, again: bool = False, report: Callable[[str], None] = print
) -> list[str]:
    """Seed each service whose demo was not seeded before (all with ``again``); the names seeded."""
    token = _issuer(settings).mint("demo-seeder", [Role.ADMIN])
    done = []
    for name, module in SEEDERS.items():
        seeder = _seeder(module)
        if seeder is None or name not in urls:
            continue
        marker = seeded(name, settings)
        if marker is not None and not again:
            report(f"{name}: demo data seeded on {marker.get('seeded_at', '?')}; left as it is now")
            continue
        started = time.monotonic()
        seeder(urls[name], token)
        seconds = time.monotonic() - started
        path = marker_path(name, settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        when = datetime.now(UTC).isoformat(timespec="seconds")
        stamp = {"service": name, "seeded_at": when, "seconds": round(seconds, 1)}
        path.write_text(json.dumps(stamp) + "\n")
        report(f"{name}: demo data ready ({seconds:.1f} s)")
        done.append(name)
    return done


def phone_page(urls: dict[str, str], settings: Settings) -> str | None:
    """The phone page of the demo member, signed in with a member token."""
    from deploy.stack import demo_notifications

    if "notifications" not in urls:
        return None
    member = demo_notifications.DEMO_MEMBER
    token = _issuer(settings).mint(member, [Role.MEMBER], person_id=member)
    return demo_notifications.phone_page_url(urls["notifications"], token)
