"""Capped, jittered exponential backoff for reconnect loops."""

from __future__ import annotations

import random


class Backoff:
    """Delay = half of ``min(cap, base * 2**n)`` plus a uniform jitter up to the other half.

    The jitter spreads reconnect storms; the floor of half the nominal delay keeps it exponential.
    """

    def __init__(self, base_s: float = 0.25, cap_s: float = 30.0, rng: random.Random | None = None) -> None:
        if base_s <= 0 or cap_s < base_s:
            raise ValueError("need 0 < base_s <= cap_s")
        self.base_s = base_s
        self.cap_s = cap_s
        self._rng = rng or random.Random()
        self.attempt = 0

    def next_delay_s(self) -> float:
        """The delay before the next attempt; grows until the cap."""
        nominal = min(self.cap_s, self.base_s * float(1 << min(self.attempt, 30)))
        self.attempt += 1
        jitter: float = self._rng.uniform(0, nominal / 2)
        return nominal / 2 + jitter

    def reset(self) -> None:
        """Call after a successful connection."""
        self.attempt = 0
