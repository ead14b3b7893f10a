"""The catalogue topics this service uses. Its names for them (``topic_suffix``) come from the runtime."""

from __future__ import annotations

from civicgrid_runtime.topic_names import TopicNames as Topics

PLACES = "civicgrid.org.places.v1"
MEMBERSHIPS = "civicgrid.org.memberships.v1"
HOTLINE = "municipal.hotline12345.requests.v1"
DEPLOYMENT = "civicgrid.resources.deployment.v1"
REQUESTS = "civicgrid.resources.requests.v1"
DELIBERATION = "civicgrid.deliberation.v1"
USED = (PLACES, HOTLINE, DEPLOYMENT, REQUESTS)
"""Created (with their dead-letter topics) at start, under this service's names for them."""

__all__ = ["DELIBERATION", "DEPLOYMENT", "HOTLINE", "MEMBERSHIPS", "PLACES", "REQUESTS", "USED", "Topics"]
