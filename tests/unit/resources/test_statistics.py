"""The dashboards' buckets: what one request write adds to them."""

from __future__ import annotations

from typing import Any

from civicgrid_resources.adapters.statistics import bucket_of, changes, counters_of

Document = dict[str, Any]


def request(grid: str | None = "420106002003001", **counters: int) -> Document:
    return {
        "community_code": "420106002003",
        "street_code": "420106002",
        "district_code": "420106",
        "city_code": "4201",
        "grid_id": grid,
        "open": 1,
        **counters,
    }


def test_a_new_request_counts_once_in_its_grid_bucket_as_open() -> None:
    [(key, (place, inc))] = changes(None, request()).items()
    assert key == "420106002003:420106002003001"
    assert place["street_code"] == "420106002"
    assert (inc["total"], inc["open"], inc["resolved"]) == (1, 1, 0)


def test_a_request_without_a_grid_counts_in_its_community_bucket() -> None:
    assert bucket_of(request(grid=None)) == "420106002003:-"


def test_resolving_moves_the_request_from_open_to_resolved_without_counting_it_again() -> None:
    before = request(m_responded=1)
    after = request(open=0, m_responded=1, m_resolved=1)
    [(_, (_, inc))] = changes(before, after).items()
    assert inc == {
        "total": 0,
        "open": -1,
        "responded": 0,
        "resolved": 1,
        "evaluated": 0,
        "satisfied": 0,
        "rating_sum": 0,
        "escalated": 0,
    }


def test_an_evaluation_adds_its_rating_and_satisfaction() -> None:
    before = request(open=0, m_resolved=1)
    after = request(open=0, m_resolved=1, m_evaluated=1, m_satisfied=1, m_rating=5)
    [(_, (_, inc))] = changes(before, after).items()
    assert (inc["evaluated"], inc["satisfied"], inc["rating_sum"]) == (1, 1, 5)


def test_a_write_that_changes_no_counter_touches_no_bucket() -> None:
    assert changes(request(), request()) == {}


def test_a_request_moved_to_another_grid_leaves_one_bucket_and_enters_the_other() -> None:
    moved = changes(request(grid="420106002003001"), request(grid="420106002003002"))
    assert moved["420106002003:420106002003001"][1]["total"] == -1
    assert moved["420106002003:420106002003001"][1]["open"] == -1
    assert moved["420106002003:420106002003002"][1]["total"] == 1
    assert moved["420106002003:420106002003002"][1]["open"] == 1


def test_counters_of_no_document_are_all_zero() -> None:
    assert set(counters_of(None).values()) == {0}
