"""Grinding end to end on realistic ETHUSDC prices: fires when calm, not when volatile; IOC + re-entry."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from phoenix.core.types import (
    Fill,
    OrderFilled,
    OrderStatus,
    OrderType,
    OrderUpdated,
    PlaceOrder,
    PositionSynced,
    Side,
    TimeInForce,
)
from phoenix.risk.grinding import GrindPhase
from phoenix.trader.replay import parse_mid_rows, parse_rfc3339_ns
from phoenix.trader.reports import GrindFired, GrindReentryPlaced
from phoenix.trader.trader import Trader
from tests.conftest import shared_data_path
from tests.trader.support import NS, T0, Venue, eth_filters, make_config

MS = 1_000_000


def new_trader() -> Trader:
    cfg = make_config(net_max=0.20)
    return Trader(cfg, {"ETHUSDC": eth_filters()}, wallet_usdc=100_000.0, id_seed_ms=T0 // MS)


def feed_mids(v: Venue, rows: list[tuple[int, float]]) -> None:
    """One book per row plus a timer, like a live feed sampled at the series' rate."""
    v.start("ETHUSDC", round(rows[0][1] * 100 - 0.5), rows[0][0])
    for ts, mid in rows:
        v.book("ETHUSDC", math.floor(mid * 100 - 0.5 + 1e-6), ts)
        v.timer(ts + MS)


def random_walk(seed: int, seconds: int, sigma_1s_bps: float) -> list[tuple[int, float]]:
    rng = random.Random(seed)
    p = 2820.0
    out = []
    for k in range(seconds):
        p *= math.exp(rng.gauss(0.0, sigma_1s_bps * 1e-4))
        out.append((T0 + k * NS, round(p * 200) / 200))
    return out


def go_long(v: Venue, ts: int, steps: int = 180) -> list[GrindFired]:
    v.send(PositionSynced(symbol="ETHUSDC", ts_ns=ts, qty_steps=steps, entry_price=2850.0))
    last = v.trader.store.symbols["ETHUSDC"].book.best_bid_ticks
    assert last is not None
    v.book("ETHUSDC", last, ts + MS)
    v.timer(ts + 2 * MS)
    return [r for r in v.reports if isinstance(r, GrindFired)]


@pytest.mark.parametrize("status_before_fill", [False, True])
def test_grinding_fires_on_a_calm_series_with_a_real_reduce_only_ioc_and_reenters_better(
    status_before_fill: bool,
) -> None:
    t = new_trader()
    v = Venue(t)
    rows = random_walk(7, 1900, 1.2)  # ETHUSDC's measured calm: σ(1 s) ≈ 1.2 bps
    feed_mids(v, rows)
    ts = rows[-1][0] + NS
    fired = go_long(v, ts)  # 0.18 ETH > 87 % of net_max 0.20
    assert len(fired) == 1
    g = fired[0]
    assert g.side is Side.SELL and g.qty_steps == math.floor(180 * 0.075)  # 13 steps = 0.013 ETH
    assert g.price_std_pct < 0.38 and g.count_total == 1
    take = next(a for a in v.actions if isinstance(a, PlaceOrder) and a.time_in_force is TimeInForce.IOC)
    assert take.reduce_only and take.order_type is OrderType.LIMIT and take.side is Side.SELL
    assert t.grinder_phase("ETHUSDC") is GrindPhase.TAKING
    # no second fire while the budget's spacing has not passed
    bid0 = t.store.symbols["ETHUSDC"].book.best_bid_ticks
    assert bid0 is not None
    v.book("ETHUSDC", bid0, ts + 5 * NS)
    v.timer(ts + 5 * NS + MS)
    assert len([r for r in v.reports if isinstance(r, GrindFired)]) == 1
    # the taker leg fills; the maker re-entry is placed 4.2 bps better with 2.1 × the size (risk permitting)
    if status_before_fill:  # the order's FILLED update may reach us before the fill itself
        del v.orders[take.client_order_id]
        v.send(
            OrderUpdated(
                symbol="ETHUSDC",
                ts_ns=ts + 6 * NS,
                client_order_id=take.client_order_id,
                status=OrderStatus.FILLED,
                side=take.side,
                price_ticks=take.price_ticks,
                qty_steps=take.qty_steps,
                filled_steps=take.qty_steps,
            )
        )
        assert t.grinder_phase("ETHUSDC") is GrindPhase.TAKING  # waits for the fill's price
        fill = Fill(
            symbol="ETHUSDC",
            client_order_id=take.client_order_id,
            trade_id=777,
            side=take.side,
            price_ticks=take.price_ticks,
            qty_steps=take.qty_steps,
            maker=False,
            fee_usdc=0.01,
            realized_pnl_usdc=0.0,
            ts_ns=ts + 6 * NS,
        )
        v.send(OrderFilled(fill=fill, ts_ns=ts + 6 * NS))
    else:
        v.fill(take.client_order_id, take.qty_steps, ts_ns=ts + 6 * NS)
    assert t.grinder_phase("ETHUSDC") is GrindPhase.REENTRY
    assert t.store.symbols["ETHUSDC"].position.qty_steps == 180 - 13
    bid = t.store.symbols["ETHUSDC"].book.best_bid_ticks
    assert bid is not None
    for k in range(3):
        v.book("ETHUSDC", bid, ts + (7 + k) * NS)
        v.timer(ts + (7 + k) * NS + MS)
    placed = [r for r in v.reports if isinstance(r, GrindReentryPlaced)]
    assert len(placed) == 1
    re = placed[0]
    assert re.side is Side.BUY and re.wanted_qty_steps == math.floor(13 * 2.1)
    assert re.price_ticks <= math.floor(take.price_ticks * (1 - 4.2e-4) + 1e-9)
    assert 8 <= re.qty_steps <= re.wanted_qty_steps  # bounded by net_max, never below min notional
    st_ = t.store.symbols["ETHUSDC"]
    assert st_.position.qty_steps + st_.pending_buy_steps <= 200
    assert t.grind_count_total() == 1


def test_grinding_does_not_fire_on_a_volatile_series() -> None:
    t = new_trader()
    v = Venue(t)
    rows = random_walk(8, 1900, 6.0)
    feed_mids(v, rows)
    assert go_long(v, rows[-1][0] + NS) == []
    assert t.grind_count_total() == 0


def _continuous_hour() -> list[tuple[int, float]]:
    path: Path = shared_data_path("ethusdc_mid_2025-11-24_dev.csv")
    rows = parse_mid_rows(path.read_text().splitlines())
    start = parse_rfc3339_ns("2025-11-24T08:26:08Z")
    return [(ts, mid) for ts, mid in rows if ts >= start]


def test_grinding_on_the_real_ethusdc_series_fires_in_its_calm_first_half_not_its_volatile_end() -> None:
    hour = _continuous_hour()
    calm_end = hour[0][0] + 35 * 60 * NS
    # calm: the first 35 minutes (30-min price std ≈ 0.06-0.15 %)
    t = new_trader()
    v = Venue(t)
    feed_mids(v, [r for r in hour if r[0] <= calm_end][::4])  # one sample per second is enough
    fired = go_long(v, calm_end + NS)
    assert len(fired) == 1 and fired[0].price_std_pct < 0.38
    # volatile: the whole hour, judged at its end (30-min price std ≈ 0.56 %)
    t2 = new_trader()
    v2 = Venue(t2)
    feed_mids(v2, hour[::4])
    assert go_long(v2, hour[-1][0] + NS) == []
