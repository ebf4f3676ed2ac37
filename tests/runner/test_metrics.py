"""Metrics registry names and the /metrics + /health HTTP endpoint, scraped over real loopback HTTP."""

from __future__ import annotations

from typing import Any

import aiohttp

import phoenix
from phoenix.metrics import Metrics, MetricsServer, RollingCount


def test_rolling_count_expires_old_events() -> None:
    rc = RollingCount(window_ns=60_000_000_000)
    rc.add(0)
    rc.add(30_000_000_000, 2)
    assert rc.count(59_000_000_000) == 3
    assert rc.count(60_000_000_000) == 2
    assert rc.count(91_000_000_000) == 0


async def test_metrics_endpoint_exposes_spec_names_and_health() -> None:
    metrics = Metrics(["ETHUSDC", "SOLUSDC"])
    metrics.symbols["ETHUSDC"].position.set(0.25)
    metrics.symbols["ETHUSDC"].grind_count.inc()
    metrics.total_notional.set(750.0)
    metrics.tick_to_order.observe(0.0004)
    healthy = {"ok": True}

    def health() -> tuple[bool, dict[str, Any]]:
        return healthy["ok"], {"symbols": {"ETHUSDC": "active"}}

    server = MetricsServer(metrics, health, host="127.0.0.1", port=0)
    await server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/metrics") as resp:
                assert resp.status == 200
                text = await resp.text()
            async with session.get(f"{base}/health") as resp:
                assert resp.status == 200
                body = await resp.json()
            healthy["ok"] = False
            async with session.get(f"{base}/health") as resp:
                assert resp.status == 503
    finally:
        await server.stop()
    for name in (
        'mm_position{symbol="ETHUSDC"} 0.25',
        "mm_fill_rate_5m",
        "mm_total_notional 750.0",
        "mm_funding_pnl_acc",
        "mm_pinning_active",
        'mm_grind_count_total{symbol="ETHUSDC"} 1.0',
        "mm_tick_to_order_seconds_bucket",
        "mm_order_round_trip_seconds_bucket",
        "mm_rate_limit_usage_pct",
        "mm_cancels_per_min",
        "mm_pnl_usdc",
        f"mm_accel_compiled {1.0 if phoenix.ACCEL.compiled else 0.0}",
    ):
        assert name in text, name
    assert body["status"] == "ok" and body["symbols"]["ETHUSDC"] == "active"
