"""The live-stream watermark: late sequence numbers are not skipped, missing ones only after a grace,
and changes sharing a number (a mark-all) are each handed out, even when they show up one by one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from civicgrid_notifications.adapters.live import LiveHub, SequenceWatermark
from civicgrid_notifications.adapters.mongo_feed import Change
from civicgrid_notifications.domain.model import FeedState
from civicgrid_notifications.service_layer.ports import FeedItem


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_watermark_waits_at_a_gap_so_a_late_commit_is_still_delivered() -> None:
    clock = Clock()
    mark = SequenceWatermark(10, gap_grace=3.0, clock=clock)
    mark.mark(12)
    mark.advance(12)
    assert mark.low == 10
    assert mark.is_new(11)
    assert not mark.is_new(12)
    mark.mark(11)
    clock.now += 3.0
    mark.advance(12)
    assert mark.low == 12


def test_a_number_that_never_appears_is_passed_after_the_grace_period() -> None:
    clock = Clock()
    mark = SequenceWatermark(0, gap_grace=3.0, clock=clock)
    mark.mark(2)
    mark.advance(2)
    assert mark.low == 0
    clock.now += 2.9
    mark.advance(2)
    assert mark.low == 0
    clock.now += 0.2
    mark.advance(2)
    assert mark.low == 2
    assert not mark.is_new(1)


def test_changes_sharing_a_number_are_each_new_and_the_number_stays_open_while_more_arrive() -> None:
    clock = Clock()
    mark = SequenceWatermark(0, gap_grace=3.0, clock=clock)
    mark.mark(1, "personal::a")
    mark.advance(1)
    assert mark.is_new(1, "personal::b")
    assert not mark.is_new(1, "personal::a")
    clock.now += 2.0
    mark.mark(1, "personal::b")  # the store showed the second item of the mark-all later
    clock.now += 2.0
    mark.advance(1)
    assert mark.low == 0  # quiet for 2 s only
    clock.now += 1.0
    mark.advance(1)
    assert mark.low == 1


def _item(item_id: str, seq: int) -> FeedItem:
    return FeedItem(
        item_id, "personal", "notice", "normal", "t", "b", None, FeedState.READ, datetime.now(UTC), seq, "c"
    )


class Source:
    def __init__(self) -> None:
        self.changes: list[Change] = []

    async def changes_after(self, seq: int, limit: int) -> list[Change]:
        return [c for c in self.changes if c.seq > seq]

    async def current_seq(self) -> int:
        return max((c.seq for c in self.changes), default=0)


async def test_the_hub_hands_out_every_item_of_a_mark_all_to_every_open_stream() -> None:
    source = Source()
    source.changes.append(Change(1, _item("x", 1), "m1", None))
    hub = LiveHub(source, gap_grace=60.0)
    await hub.poll_once()  # the first poll starts the watermark at the current number
    phone, tablet = hub.subscribe("m1", []), hub.subscribe("m1", [])
    source.changes.append(Change(2, _item("a", 2), "m1", None))
    await hub.poll_once()
    source.changes += [Change(2, _item("b", 2), "m1", None), Change(2, _item("c", 2), "m1", None)]
    await hub.poll_once()
    for device in (phone, tablet):
        got: Sequence[object] = [device.queue.get_nowait() for _ in range(device.queue.qsize())]
        assert [getattr(i, "id", None) for i in got] == ["a", "b", "c"]
    assert await hub.resume_point() == 1


async def test_a_change_written_by_this_process_reaches_its_streams_without_a_poll_and_only_once() -> None:
    source = Source()
    hub = LiveHub(source, gap_grace=60.0)
    await hub.poll_once()
    phone, other = hub.subscribe("m1", []), hub.subscribe("m2", [])
    written = Change(1, _item("a", 1), "m1", None)
    assert hub.publish([written]) == 1
    assert getattr(phone.queue.get_nowait(), "id", None) == "a"
    source.changes.append(written)  # the poll reads the same change back from the store
    assert await hub.poll_once() == 0
    assert phone.queue.empty()
    assert other.queue.empty()


async def test_a_written_broadcast_reaches_the_streams_of_its_audience_only() -> None:
    hub = LiveHub(Source(), gap_grace=60.0)
    await hub.poll_once()
    inside, outside = hub.subscribe("m1", ["community:c1"]), hub.subscribe("m2", ["community:c2"])
    assert hub.publish([Change(1, _item("b", 1), None, "community:c1")]) == 1
    assert inside.queue.qsize() == 1
    assert outside.queue.empty()


async def test_a_change_published_before_the_first_poll_wakes_the_poller_which_hands_it_out() -> None:
    source = Source()
    hub = LiveHub(source, gap_grace=60.0)
    phone = hub.subscribe("m1", [])
    written = Change(1, _item("a", 1), "m1", None)
    assert hub.publish([written]) == 0  # no watermark yet: nothing handed out, the poller is woken
    assert hub._wakeup.is_set()
    await hub.poll_once()  # the watermark starts at the store's current number
    source.changes.append(Change(2, _item("b", 2), "m1", None))
    await hub.poll_once()
    assert [getattr(phone.queue.get_nowait(), "id", None)] == ["b"]


async def test_a_published_change_at_or_below_the_watermark_is_not_handed_out() -> None:
    source = Source()
    source.changes.append(Change(5, _item("old", 5), "m1", None))
    hub = LiveHub(source, gap_grace=60.0)
    await hub.poll_once()
    phone = hub.subscribe("m1", [])
    assert hub.publish([Change(5, _item("old", 5), "m1", None)]) == 0
    assert phone.queue.empty()


async def test_an_audience_change_is_left_to_the_poll() -> None:
    hub = LiveHub(Source(), gap_grace=60.0)
    await hub.poll_once()
    phone = hub.subscribe("m1", [])
    assert hub.publish([Change(1, None, "m1", None)]) == 0
    assert phone.queue.empty()


def test_a_hub_listens_to_a_store_that_reports_its_writes() -> None:
    class Reporting(Source):
        def __init__(self) -> None:
            super().__init__()
            self.listeners: list[object] = []

        def listen(self, listener: object) -> None:
            self.listeners.append(listener)

    store = Reporting()
    hub = LiveHub(store)
    assert store.listeners == [hub.publish]
