"""The flicker guard's cached stage equals a fresh computation from the sliding window at every moment."""

from __future__ import annotations

import random

from phoenix.risk.flicker import FlickerGuard

_S = 1_000_000_000


def _fresh(guard: FlickerGuard, now_ns: int) -> tuple[float, int]:
    # an uncached guard with the same events: the reference stage
    ref = FlickerGuard(guard.budget_per_min)
    for ts, count in guard._events:
        ref.record(ts, count)
    return ref.widen_factor(now_ns), ref.interval_factor(now_ns)


def test_cached_stage_matches_fresh_computation() -> None:
    rng = random.Random(7)
    guard = FlickerGuard(40)
    now = 0
    seen = set()
    for _ in range(3000):
        now += rng.randrange(0, 2 * _S)
        if rng.random() < 0.5:
            guard.record(now, rng.randrange(1, 4))
        if rng.random() < 0.01:
            guard.budget_per_min = rng.choice((20, 40, 80))
        stage = (guard.widen_factor(now), guard.interval_factor(now))
        assert stage == _fresh(guard, now)
        seen.add(stage)
    assert len(seen) >= 3  # the sequence went through several stages
