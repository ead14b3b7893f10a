"""The feed's sequence numbers: reservations asked for at once are made together, never overlapping."""

from __future__ import annotations

import asyncio
from typing import Any

from civicgrid_notifications.adapters.mongo_feed import MongoFeedStore


class Counters:
    """A counter that, like FerretDB 1.24, is not isolated: two $inc at once would read the same value."""

    def __init__(self) -> None:
        self.value = 0
        self.calls: list[int] = []
        self.at_once = 0
        self.most_at_once = 0
        self.fail_next = False

    async def find_one_and_update(self, query: Any, update: dict[str, Any], **_: Any) -> dict[str, Any]:
        self.at_once += 1
        self.most_at_once = max(self.most_at_once, self.at_once)
        try:
            read = self.value
            await asyncio.sleep(0.001)
            if self.fail_next:
                self.fail_next = False
                raise ConnectionError("the store went away")
            self.value = read + update["$inc"]["value"]
            self.calls.append(update["$inc"]["value"])
            return {"_id": "feed_seq", "value": self.value}
        finally:
            self.at_once -= 1


def _store(counters: Counters) -> MongoFeedStore:
    return MongoFeedStore(_Db(counters))  # type: ignore[arg-type]


class _Db(dict[str, Any]):
    def __init__(self, counters: Counters) -> None:
        super().__init__()
        self.counters = counters

    def __getitem__(self, name: str) -> Any:
        return self.counters if name == "counters" else object()


async def test_reservations_asked_for_at_once_get_disjoint_ranges_in_one_round_trip_at_a_time() -> None:
    counters = Counters()
    store = _store(counters)
    counts = [1, 3, 1, 2, 5, 1, 1, 4] * 5
    tops = await asyncio.gather(*(store.next_seq(c) for c in counts))
    numbers = sorted(n for top, c in zip(tops, counts, strict=True) for n in range(top - c + 1, top + 1))
    assert numbers == list(range(1, sum(counts) + 1)), "every number handed out once, none skipped"
    assert counters.most_at_once == 1, "never two increments at once"
    assert len(counters.calls) <= 2, "the reservations asked together were made together"
    assert await store.next_seq() == sum(counts) + 1


async def test_a_failed_reservation_fails_its_callers_and_the_next_ones_are_made() -> None:
    counters = Counters()
    store = _store(counters)
    counters.fail_next = True
    first = await asyncio.gather(store.next_seq(), store.next_seq(2), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in first)
    assert await store.next_seq() == 1, "nothing was reserved by the failed round trip"
