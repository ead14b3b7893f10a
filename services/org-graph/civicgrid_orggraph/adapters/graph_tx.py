"""The org graph inside one Neo4j managed transaction (implements the service layer's ``GraphTx``)."""

from __future__ import annotations

from civicgrid_orggraph.adapters.tx_people import PeopleTx
from civicgrid_orggraph.adapters.tx_places import PlacesTx


class Neo4jGraphTx(PlacesTx, PeopleTx):
    """Places and grids, organisations, people, posts and memberships; ``events`` collects the outbox."""
