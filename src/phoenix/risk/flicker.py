"""Flicker guard: a per-symbol budget of requotes (cancels and amendments) per minute.

A cancel and an amendment both take an order off its queue place, so both count. The window is a sliding
60 s, so the budget always refills: the guard can slow quoting down but can never freeze it (the Go peer's
fixed-window counter deadlocked and froze quoting). As usage grows the guard widens the diff tolerance
and stretches the requote interval; optional requotes beyond the budget are deferred, while cancels that
risk needs (limits, stale book, halts) are never blocked, only counted.

=============== ============ =================
budget used     tolerance ×  requote interval ×
=============== ============ =================
< 50 %          1            1
50 – 75 %       2            1
75 – 90 %       4            2
≥ 90 %          8            4
=============== ============ =================
"""

from __future__ import annotations

from collections import deque

_WINDOW_NS = 60 * 1_000_000_000
_STAGES = ((0.5, 1.0, 1), (0.75, 2.0, 1), (0.9, 4.0, 2))
_TOP = (8.0, 4)
_FOREVER = 1 << 62
_OPTIONAL_SHARE = 0.9  # optional requotes stop at 90 % of the budget; the rest is headroom for risk cancels


class FlickerGuard:
    """Sliding one-minute requote budget of one symbol.

    Args:
        budget_per_min: ``SymbolConfig.cancel_budget_per_min``.
    """

    __slots__ = ("_events", "_stage_cache", "_total", "budget_per_min", "total_requotes")

    def __init__(self, budget_per_min: int) -> None:
        self.budget_per_min = budget_per_min
        self._events: deque[tuple[int, int]] = deque()
        self._total = 0
        self.total_requotes = 0
        # (budget, valid until ns, widen, slow): the stage only changes when an event is recorded or the
        # oldest one expires, so the requote path (several calls per requote) reads it without the division
        self._stage_cache: tuple[int, int, float, int] | None = None

    def _expire(self, now_ns: int) -> None:
        events = self._events
        cutoff = now_ns - _WINDOW_NS
        while events and events[0][0] <= cutoff:
            self._total -= events.popleft()[1]

    def used(self, now_ns: int) -> int:
        """Requotes in the last 60 s."""
        self._expire(now_ns)
        return self._total

    def record(self, now_ns: int, count: int) -> None:
        """Count ``count`` cancels/amendments sent at ``now_ns``."""
        if count <= 0:
            return
        self._expire(now_ns)
        events = self._events
        if events and events[-1][0] == now_ns:
            events[-1] = (now_ns, events[-1][1] + count)
        else:
            events.append((now_ns, count))
        self._total += count
        self.total_requotes += count
        self._stage_cache = None

    def allowance(self, now_ns: int) -> int:
        """Optional requotes that still fit now: 90 % of the budget, the rest is kept for risk cancels."""
        return max(0, int(self.budget_per_min * _OPTIONAL_SHARE) - self.used(now_ns))

    def _stage(self, now_ns: int) -> tuple[float, int]:
        cache = self._stage_cache
        if cache is not None and now_ns < cache[1] and cache[0] == self.budget_per_min:
            return cache[2], cache[3]
        usage = self.used(now_ns) / self.budget_per_min
        stage = _TOP
        for upper, widen, slow in _STAGES:
            if usage < upper:
                stage = (widen, slow)
                break
        events = self._events
        # _expire drops the oldest event once now_ns ≥ its time + the window: the stage holds until then
        until = events[0][0] + _WINDOW_NS if events else _FOREVER
        self._stage_cache = (self.budget_per_min, until, stage[0], stage[1])
        return stage

    def widen_factor(self, now_ns: int) -> float:
        """Multiplier for the diff tolerance bands (≥ 1)."""
        return self._stage(now_ns)[0]

    def interval_factor(self, now_ns: int) -> int:
        """Multiplier for the requote interval (≥ 1)."""
        return self._stage(now_ns)[1]
