"""The live-stream watermark: late sequence numbers are not skipped, missing ones only after a grace."""

from __future__ import annotations

from civicgrid_notifications.adapters.live import SequenceWatermark


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
