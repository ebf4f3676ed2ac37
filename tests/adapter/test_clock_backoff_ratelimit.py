"""Time-offset estimation, reconnect backoff and the rate limiter, with injected clocks."""

from __future__ import annotations

import random

import pytest

from phoenix.errors import IpBannedError, RateLimitError
from phoenix.exchange.binance.backoff import Backoff
from phoenix.exchange.binance.clock import ServerClock
from phoenix.exchange.binance.ratelimit import RateLimiter, WindowCounter


class FakeClock:
    def __init__(self, t_ms: int = 1_700_000_000_000) -> None:
        self.t_ms = t_ms
        self.slept: list[float] = []

    def __call__(self) -> int:
        return self.t_ms

    async def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.t_ms += int(s * 1000)


def test_clock_uses_min_rtt_sample_and_midpoint() -> None:
    local = FakeClock(1000)
    c = ServerClock(local, resync_interval_ms=60_000)
    assert c.needs_sync()
    # (t0, server, t1): the second sample has the smallest RTT (4 ms) → offset = 5002 - 1002 = 4000
    offset = c.apply_samples([(1000, 5050, 1100), (1000, 5002, 1004), (1000, 5010, 1030)])
    assert offset == 4000 and c.rtt_ms == 4
    local.t_ms = 2000
    assert c.now_ms() == 6000
    assert not c.needs_sync()
    local.t_ms = 1004 + 60_000
    assert c.needs_sync()


def test_backoff_grows_is_capped_and_jittered() -> None:
    b = Backoff(base_s=0.5, cap_s=8.0, rng=random.Random(7))
    delays = [b.next_delay_s() for _ in range(12)]
    for n, d in enumerate(delays):
        nominal = min(8.0, 0.5 * 2**n)
        assert nominal / 2 <= d <= nominal
    assert max(delays) <= 8.0
    assert len(set(delays)) == len(delays)  # jittered
    b.reset()
    assert b.next_delay_s() <= 0.5


async def test_limiter_keeps_usage_below_80_percent_and_waits_for_next_window() -> None:
    clock = FakeClock(1_700_000_000_000 - 1_700_000_000_000 % 60_000 + 1000)
    lim = RateLimiter(clock, counters=[WindowCounter("weight", 60_000, 100)], sleep=clock.sleep)
    for _ in range(80):
        await lim.acquire(1)
    assert clock.slept == []
    await lim.acquire(1)  # 81 > 80 % of 100: must wait for the next minute
    assert clock.slept and clock.t_ms % 60_000 < 1000
    assert lim.usage()["weight_60000ms"] == pytest.approx(0.01)


async def test_limiter_adopts_headers_and_ws_rate_limits() -> None:
    clock = FakeClock()
    lim = RateLimiter(clock, sleep=clock.sleep)
    lim.on_headers(
        {"X-MBX-USED-WEIGHT-1M": "1900", "x-mbx-order-count-10s": "250", "X-MBX-ORDER-COUNT-1M": "5"}
    )
    u = lim.usage()
    assert u["weight_60000ms"] == pytest.approx(1900 / 2400)
    assert u["orders_10000ms"] == pytest.approx(250 / 300)
    assert lim.delay_ms(1, 0) == 0  # 1901 < 1920
    assert lim.delay_ms(0, 1) > 0  # 251 > 240
    lim.on_ws_rate_limits(
        [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": 2400,
                "count": 2000,
            }
        ]
    )
    assert lim.delay_ms(1, 0) > 0


async def test_429_blocks_until_retry_after_then_resumes() -> None:
    clock = FakeClock()
    lim = RateLimiter(clock, sleep=clock.sleep)
    start = clock.t_ms
    lim.on_rejected(429, 3.0)
    await lim.acquire(1)
    assert clock.t_ms - start >= 3000
    assert lim.rejections_429 == 1


async def test_418_fails_fast_and_never_sends_into_the_ban() -> None:
    clock = FakeClock()
    lim = RateLimiter(clock, sleep=clock.sleep)
    lim.on_rejected(418, 120.0)
    with pytest.raises(IpBannedError) as ei:
        await lim.acquire(1)
    assert ei.value.retry_after_s == pytest.approx(120.25)
    assert clock.slept == []
    clock.t_ms += 120_251
    await lim.acquire(1)


async def test_wait_longer_than_budget_raises() -> None:
    clock = FakeClock()
    lim = RateLimiter(clock, sleep=clock.sleep, max_wait_s=1.0)
    lim.on_rejected(429, 10.0)
    with pytest.raises(RateLimitError):
        await lim.acquire(1)


def test_set_limits_from_exchange_info() -> None:
    lim = RateLimiter(FakeClock())
    lim.set_limits(
        [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 50},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 20},
        ]
    )
    assert [(c.kind, c.window_ms, c.limit) for c in lim.counters] == [
        ("weight", 60_000, 50),
        ("orders", 10_000, 20),
    ]
