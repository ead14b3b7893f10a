"""Demo data for ``./civicgrid up``: filled in as each service gains its API."""

from __future__ import annotations

from deploy.local.config import Settings


def seed(urls: dict[str, str], settings: Settings) -> None:
    """Seed the demo community through the services' own HTTP APIs (idempotent)."""
    del urls, settings
