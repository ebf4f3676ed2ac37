"""Time sources for the pure core: a ``Clock`` protocol and a manually driven ``ManualClock``.

The core never reads the wall clock; drivers inject a clock (the live runner wraps the system clock,
the backtester and the tests drive a ``ManualClock``). Times are integer nanoseconds since the epoch.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Anything that can tell the current time in nanoseconds since the epoch."""

    def now_ns(self) -> int:
        """Current time in integer nanoseconds."""
        ...


class ManualClock:
    """A clock that only moves when told to (tests and backtests). Time never goes backwards."""

    __slots__ = ("_now_ns",)

    def __init__(self, start_ns: int = 0) -> None:
        self._now_ns = start_ns

    def now_ns(self) -> int:
        """Current time in integer nanoseconds."""
        return self._now_ns

    def set(self, ts_ns: int) -> None:
        """Jump to ``ts_ns``; raises ValueError if that would move time backwards."""
        if ts_ns < self._now_ns:
            raise ValueError(f"ManualClock cannot go backwards: {ts_ns} < {self._now_ns}")
        self._now_ns = ts_ns

    def advance(self, delta_ns: int) -> int:
        """Move forward by ``delta_ns`` (≥ 0) and return the new time."""
        if delta_ns < 0:
            raise ValueError(f"ManualClock cannot go backwards: delta_ns={delta_ns}")
        self._now_ns += delta_ns
        return self._now_ns
