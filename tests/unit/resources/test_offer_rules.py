"""A unit's offers (resources and projects lists): published, updated, withdrawn."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from civicgrid_resources.adapters.events import to_cloud_event
from civicgrid_resources.domain import events as ev
from civicgrid_resources.domain.deployment import Offer, OfferKind, OfferStatus
from civicgrid_runtime.errors import IllegalTransition

T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


def _offer() -> Offer:
    return Offer.publish(
        offer_id="offer-a",
        resource_id="res-unit",
        unit_id="unit-tax",
        community_code="420106002003",
        kind=OfferKind.PROJECT,
        title="法律咨询",
        tags=["legal"],
        offered_at=T0,
    )


def test_a_published_offer_announces_itself_with_the_offer_as_subject() -> None:
    events = _offer().take_events()
    assert [type(e) for e in events] == [ev.OfferPublished]
    cloud = to_cloud_event(events[0])
    assert (cloud.type, cloud.subject) == ("cn.civicgrid.resources.offer.published.v1", "offer-a")


def test_an_update_carries_all_the_new_values_and_keeps_what_was_not_given() -> None:
    offer = _offer()
    offer.take_events()
    assert offer.update(None, "每周六上午", ["legal", "elderly"]) is True
    (event,) = offer.take_events()
    assert isinstance(event, ev.OfferUpdated)
    assert (event.title, event.description, event.tags) == ("法律咨询", "每周六上午", ["legal", "elderly"])


def test_an_update_that_changes_nothing_publishes_nothing() -> None:
    offer = _offer()
    offer.take_events()
    assert offer.update("法律咨询", None, ["legal"]) is False
    assert offer.take_events() == []


def test_a_withdrawn_offer_can_be_neither_updated_nor_withdrawn_again() -> None:
    offer = _offer()
    offer.withdraw("moved away", T0)
    assert offer.status is OfferStatus.WITHDRAWN
    assert [type(e) for e in offer.take_events()] == [ev.OfferPublished, ev.OfferWithdrawn]
    with pytest.raises(IllegalTransition):
        offer.update("新标题", None, None)
    with pytest.raises(IllegalTransition):
        offer.withdraw(None, T0)
