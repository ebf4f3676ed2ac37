"""Rate-limit counters, headers and the 429 → 418 escalation of the simulator."""

from __future__ import annotations

import pytest

from phoenix.exchange.sim.ratelimit import (
    RateLimited,
    RateLimiter,
    RateLimits,
    endpoint_weight,
    order_count_cost,
    usage_headers,
)


def test_weights_follow_protocol_table() -> None:
    assert endpoint_weight("GET", "/fapi/v1/depth", {"symbol": "ETHUSDC", "limit": "1000"}) == 20
    assert endpoint_weight("GET", "/fapi/v1/depth", {"symbol": "ETHUSDC", "limit": "5"}) == 2
    assert endpoint_weight("GET", "/fapi/v1/depth", {"symbol": "ETHUSDC"}) == 10
    assert endpoint_weight("GET", "/fapi/v1/openOrders", {}) == 40
    assert endpoint_weight("GET", "/fapi/v1/openOrders", {"symbol": "ETHUSDC"}) == 1
    assert endpoint_weight("POST", "/fapi/v1/order", {}) == 0
    assert endpoint_weight("POST", "/fapi/v1/batchOrders", {}) == 5
    assert order_count_cost("POST", "/fapi/v1/batchOrders") == (5, 1)
    assert order_count_cost("DELETE", "/fapi/v1/order") == (0, 0)


def test_weight_limit_gives_429_with_retry_after_until_window_end() -> None:
    rl = RateLimiter(RateLimits(weight_per_minute=10))
    t0 = 60_000 * 100 + 15_000  # 15 s into a minute
    assert rl.charge_weight("ip", 10, t0).weight_1m == 10
    with pytest.raises(RateLimited) as info:
        rl.charge_weight("ip", 1, t0)
    assert (info.value.http_status, info.value.code, info.value.retry_after_s) == (429, -1003, 45)
    # a new minute frees the window
    assert rl.charge_weight("ip", 1, t0 + 45_000).weight_1m == 1


def test_ignoring_429_escalates_to_418_ban_that_doubles() -> None:
    limits = RateLimits(weight_per_minute=1, violations_before_ban=2, ban_initial_ms=120_000)
    rl = RateLimiter(limits)
    t = 60_000 * 10
    rl.charge_weight("ip", 1, t)
    statuses = []
    for _ in range(3):
        with pytest.raises(RateLimited) as info:
            rl.charge_weight("ip", 1, t + 1)
        statuses.append(info.value.http_status)
    assert statuses == [429, 429, 418]
    assert info.value.retry_after_s == 120
    with pytest.raises(RateLimited) as banned:
        rl.charge_weight("ip", 1, t + 60_000)
    assert banned.value.http_status == 418
    # after the ban a compliant client is served again
    assert rl.charge_weight("ip", 1, t + 1 + 120_000).weight_1m == 1
    # other IPs were never affected
    assert rl.charge_weight("other", 1, t + 1).weight_1m == 1


def test_order_counters_and_headers() -> None:
    rl = RateLimiter(RateLimits(orders_per_10s=3))
    t = 10_000 * 7
    usage = None
    for _ in range(3):
        usage = rl.charge_orders("ip", 1, 1, 1, t)
    assert usage is not None
    assert usage_headers(usage) == {"X-MBX-USED-WEIGHT-1M": "0", "X-MBX-ORDER-COUNT-10S": "3",
                                    "X-MBX-ORDER-COUNT-1M": "3"}  # fmt: skip
    with pytest.raises(RateLimited) as info:
        rl.charge_orders("ip", 1, 1, 1, t)
    assert (info.value.http_status, info.value.code) == (429, -1015)
    # another account has its own counter
    assert rl.charge_orders("ip", 2, 1, 1, t).orders_10s == 1
