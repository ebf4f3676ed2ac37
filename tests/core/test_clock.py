"""ManualClock: moves only when told, never backwards; satisfies the Clock protocol."""

from __future__ import annotations

import pytest

from phoenix.core.clock import Clock, ManualClock


def test_manual_clock_moves_forward_only() -> None:
    clock = ManualClock(100)
    assert isinstance(clock, Clock)
    assert clock.now_ns() == 100
    assert clock.advance(50) == 150
    clock.set(200)
    assert clock.now_ns() == 200
    with pytest.raises(ValueError, match="backwards"):
        clock.set(199)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)
    assert clock.now_ns() == 200
