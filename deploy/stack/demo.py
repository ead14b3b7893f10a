"""Demo data for ``./civicgrid up``: each service seeds its part through its own HTTP API.

A service's seeder is ``deploy/stack/demo_<package suffix>.py`` with ``seed(base_url, token)``;
seeders are idempotent, so running ``./civicgrid up`` again changes nothing. They run in the order
org-graph → resources → notifications, since later services build projections from the earlier
ones' events.
"""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Callable

from civicgrid_runtime.auth import Role, TokenIssuer
from deploy.local.config import Settings
from deploy.stack import services

SEEDERS = {"org-graph": "demo_orggraph", "resources": "demo_resources", "notifications": "demo_notifications"}


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


def seed(urls: dict[str, str], settings: Settings) -> None:
    token = _issuer(settings).mint("demo-seeder", [Role.ADMIN])
    for name, module in SEEDERS.items():
        seeder = _seeder(module)
        if seeder is None or name not in urls:
            continue
        started = time.monotonic()
        seeder(urls[name], token)
        print(f"{name}: demo data ready ({time.monotonic() - started:.1f} s)", flush=True)


def phone_page(urls: dict[str, str], settings: Settings) -> str | None:
    """The phone page of the demo member, signed in with a member token."""
    from deploy.stack import demo_notifications

    if "notifications" not in urls:
        return None
    member = demo_notifications.DEMO_MEMBER
    token = _issuer(settings).mint(member, [Role.MEMBER], person_id=member)
    return demo_notifications.phone_page_url(urls["notifications"], token)
