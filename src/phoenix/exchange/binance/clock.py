"""Server-time offset estimation (RTT-corrected, best-of-N samples)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wall_ms() -> int:
    """Local wall clock in ms."""
    return time.time_ns() // 1_000_000


class ServerClock:
    """Estimates ``server_time - local_time`` from ``/fapi/v1/time`` samples.

    Each sample is ``offset = server - (t0 + t1) / 2``; among the samples of one sync round the one with
    the smallest round trip wins (it bounds the error by RTT/2).
    """

    def __init__(self, local_ms: Callable[[], int] = wall_ms, resync_interval_ms: int = 300_000) -> None:
        self._local_ms = local_ms
        self.resync_interval_ms = resync_interval_ms
        self.offset_ms = 0
        self.rtt_ms = -1
        self.synced_at_ms: int | None = None

    def local_ms(self) -> int:
        """Local clock in ms."""
        return self._local_ms()

    def now_ms(self) -> int:
        """Best estimate of the server's clock in ms (what ``timestamp`` should carry)."""
        return self._local_ms() + self.offset_ms

    def apply_samples(self, samples: list[tuple[int, int, int]]) -> int:
        """Adopt the min-RTT sample of ``(t0_local_ms, server_ms, t1_local_ms)``; returns the offset."""
        if not samples:
            raise ValueError("no time samples")
        t0, server, t1 = min(samples, key=lambda s: s[2] - s[0])
        self.offset_ms = server - (t0 + t1) // 2
        self.rtt_ms = t1 - t0
        self.synced_at_ms = t1
        return self.offset_ms

    def needs_sync(self) -> bool:
        """True before the first sync and once the resync interval has elapsed."""
        return self.synced_at_ms is None or self._local_ms() - self.synced_at_ms >= self.resync_interval_ms
