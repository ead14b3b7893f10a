"""The org graph inside one Neo4j managed transaction (implements the service layer's ``GraphTx``)."""

from __future__ import annotations

from civicgrid_orggraph.adapters.tx_households import HouseholdsTx
from civicgrid_orggraph.adapters.tx_people import PeopleTx
from civicgrid_orggraph.adapters.tx_places import PlacesTx


class Neo4jGraphTx(PlacesTx, PeopleTx, HouseholdsTx):
    """Places and grids, organisations, people, posts, memberships and households; ``events`` collects the
    outbox."""
