"""ASMM: 24 + 24 finished layers, inventory skew, funding bias, vol-scaled spread, pinning."""

from __future__ import annotations

import itertools
import math
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phoenix.config import SymbolConfig
from phoenix.core.types import QuoteSet, Side
from phoenix.strategy.asmm import (
    AsmmStrategy,
    inventory_ratio,
    near_base_steps,
    reservation_price,
    vol_scaling,
)
from phoenix.strategy.pinning import pinned_price_ticks, pinned_size_steps, pinning_side
from tests.strategy.support import eth_filters, make_state

STRATEGY = AsmmStrategy()
NET_MAX_STEPS = 200  # SymbolConfig(net_max=0.2) on a 0.001 step


def assert_valid(qs: QuoteSet, best_bid: int, best_ask: int) -> None:
    f = eth_filters()
    bids = [q.price_ticks for q in qs.bids]
    asks = [q.price_ticks for q in qs.asks]
    assert bids == sorted(set(bids), reverse=True)
    assert asks == sorted(set(asks))
    assert all(p <= best_bid for p in bids) and all(p >= best_ask for p in asks)
    for q in qs.bids + qs.asks:
        assert q.qty_steps >= f.min_qty_steps
        assert Decimal(q.price_ticks) * f.tick_size * Decimal(q.qty_steps) * f.step_size >= f.min_notional


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    mid_ticks=st.integers(50_000, 1_000_000),
    spread_ticks=st.integers(1, 30),
    position=st.integers(-400, 400),
    funding=st.floats(-0.003, 0.003),
    sigma=st.one_of(st.none(), st.floats(0.0, 1e-3)),
)
def test_ladder_is_complete_valid_and_pins_only_above_the_ratio(
    mid_ticks: int, spread_ticks: int, position: int, funding: float, sigma: float | None
) -> None:
    bb, ba = mid_ticks, mid_ticks + spread_ticks
    st_ = make_state(bid_ticks=bb, ask_ticks=ba, position_steps=position, funding=funding, sigma_1s=sigma)
    qs = STRATEGY.quote(st_, 123)
    assert qs.ts_ns == 123 and qs.symbol == "ETHUSDC"
    assert len(qs.bids) == 24 and len(qs.asks) == 24  # nothing trims: 8 near + 16 far per side
    assert sorted(q.layer for q in qs.bids) == list(range(24))
    assert_valid(qs, bb, ba)
    if abs(position) > 0.7 * NET_MAX_STEPS:
        assert qs.pinning_side is (Side.SELL if position > 0 else Side.BUY)
        pinned = qs.asks[0] if position > 0 else qs.bids[0]
        assert pinned.layer == 0
        assert pinned.price_ticks == (ba if position > 0 else bb)  # joins the touch, never crosses
        assert pinned.qty_steps <= abs(position)
    else:
        assert qs.pinning_side is None


@settings(max_examples=100, deadline=None, derandomize=True)
@given(q1=st.integers(-300, 300), q2=st.integers(-300, 300), funding=st.floats(-0.001, 0.001))
def test_long_inventory_lowers_and_short_raises_the_reservation(q1: int, q2: int, funding: float) -> None:
    lo, hi = sorted((q1, q2))
    r_lo = STRATEGY.quote(make_state(position_steps=lo, funding=funding), 0).reservation_price
    r_hi = STRATEGY.quote(make_state(position_steps=hi, funding=funding), 0).reservation_price
    assert r_hi <= r_lo
    if lo < hi and hi > -NET_MAX_STEPS and lo < NET_MAX_STEPS:
        assert r_hi < r_lo
    mid = 3000.005
    r_flat = STRATEGY.quote(make_state(position_steps=0, funding=0.0), 0).reservation_price
    assert r_flat == pytest.approx(mid)
    assert STRATEGY.quote(make_state(position_steps=100, funding=0.0), 0).reservation_price < mid
    assert STRATEGY.quote(make_state(position_steps=-100, funding=0.0), 0).reservation_price > mid


@settings(max_examples=100, deadline=None, derandomize=True)
@given(funding=st.floats(1e-6, 0.003), position=st.integers(-300, 300))
def test_positive_funding_lowers_the_reservation(funding: float, position: int) -> None:
    r0 = STRATEGY.quote(make_state(position_steps=position, funding=0.0), 0).reservation_price
    r_pos = STRATEGY.quote(make_state(position_steps=position, funding=funding), 0).reservation_price
    r_neg = STRATEGY.quote(make_state(position_steps=position, funding=-funding), 0).reservation_price
    assert r_pos < r0 < r_neg


def test_reservation_formula_is_exact() -> None:
    # long half of net_max: 10 bps × 0.5 lower; funding 1 bp × weight 1 lower
    st_ = make_state(position_steps=100, funding=0.0001)
    qs = STRATEGY.quote(st_, 0)
    assert qs.reservation_price == pytest.approx(3000.005 * (1 - 10e-4 * 0.5 - 0.0001))
    assert reservation_price(100.0, -1.0, 20.0, 0.0, 1.0) == pytest.approx(100.2)
    # without an EMA yet, the latest funding rate is used
    st_ = make_state(position_steps=0)
    st_.funding_rate = 0.0002
    assert STRATEGY.quote(st_, 0).reservation_price == pytest.approx(3000.005 * (1 - 0.0002))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(s1=st.floats(0.0, 2e-3), s2=st.floats(0.0, 2e-3))
def test_spread_grows_with_volatility(s1: float, s2: float) -> None:
    lo, hi = sorted((s1, s2))
    a = STRATEGY.quote(make_state(sigma_1s=lo), 0)
    b = STRATEGY.quote(make_state(sigma_1s=hi), 0)
    assert b.half_spread_bps >= a.half_spread_bps - 1e-9
    assert b.asks[0].price_ticks - b.bids[0].price_ticks >= a.asks[0].price_ticks - a.bids[0].price_ticks
    assert 3.0 - 1e-9 <= a.half_spread_bps <= 15.0 + 1e-9  # min_spread/2 = 3 bps × [1, vol_scaling_max]


def test_high_volatility_widens_spread_and_spacing_up_to_the_cap() -> None:
    calm = STRATEGY.quote(make_state(sigma_1s=1e-5), 0)
    wild = STRATEGY.quote(make_state(sigma_1s=5e-3), 0)
    assert calm.half_spread_bps == pytest.approx(3.0)
    assert wild.half_spread_bps == pytest.approx(15.0)
    calm_gap = calm.bids[0].price_ticks - calm.bids[1].price_ticks
    wild_gap = wild.bids[0].price_ticks - wild.bids[1].price_ticks
    assert calm_gap == pytest.approx(60, abs=1)  # 2 bps of 3000
    assert wild_gap == pytest.approx(300, abs=1)  # × vol_scaling_max = 5


def test_vol_scaling_formula() -> None:
    assert vol_scaling(None, None, 10.0, 5.0) == 1.0
    assert vol_scaling(20.0, None, 10.0, 5.0) == 2.0
    assert vol_scaling(None, 30.0, 10.0, 5.0) == 3.0
    assert vol_scaling(20.0, 30.0, 10.0, 5.0) == 3.0
    assert vol_scaling(40.0, 30.0, 10.0, 5.0) == 4.0
    assert vol_scaling(5.0, 2.0, 10.0, 5.0) == 1.0
    assert vol_scaling(500.0, 2.0, 10.0, 5.0) == 5.0


def test_layer_prices_and_sizes_follow_the_spec() -> None:
    qs = STRATEGY.quote(make_state(), 0)
    mid = 3000.005
    near_bids = [q for q in qs.bids if q.layer < 8]
    far_bids = [q for q in qs.bids if q.layer >= 8]
    # near: half spread 3 bps then 2 bps spacing; size ceil(1.5 × 20 / mid / step) = 10 steps growing × 1.15
    assert near_bids[0].price_ticks == math.floor((mid * (1 - 3e-4)) / 0.01)
    assert [q.qty_steps for q in near_bids] == [int(10 * 1.15**i + 1e-9) for i in range(8)]
    # far: 16 layers from 4.8 % to 12 % of mid, 0.08 ETH each
    assert far_bids[0].price_ticks == math.floor(mid * (1 - 0.048) / 0.01)
    assert far_bids[-1].price_ticks == math.floor(mid * (1 - 0.12) / 0.01 + 1e-9)
    assert qs.asks[-1].price_ticks == math.ceil(mid * 1.12 / 0.01 - 1e-9)
    assert all(q.qty_steps == 80 for q in far_bids)
    assert near_base_steps(0.05, 1.5, 20.0, 3000.0, 0.001, 1) == 50
    assert near_base_steps(None, 1.5, 20.0, 3000.0, 0.001, 20) == 20


def test_pinning_switches_on_strictly_above_seventy_percent() -> None:
    assert STRATEGY.quote(make_state(position_steps=140), 0).pinning_side is None
    assert STRATEGY.quote(make_state(position_steps=-140), 0).pinning_side is None
    long_ = STRATEGY.quote(make_state(position_steps=141), 0)
    short = STRATEGY.quote(make_state(position_steps=-141), 0)
    assert long_.pinning_side is Side.SELL and short.pinning_side is Side.BUY
    assert long_.asks[0].price_ticks == 300_001 and long_.asks[0].qty_steps == 23  # 10 × 2.3
    assert short.bids[0].price_ticks == 300_000 and short.bids[0].qty_steps == 23
    assert pinning_side(0, 0, 0.7) is None
    assert pinning_side(1, 0, 0.7) is Side.SELL
    assert pinned_price_ticks(Side.BUY, 10, 12) == 10 and pinned_price_ticks(Side.SELL, 10, 12) == 12


def test_pinned_size_never_exceeds_the_position() -> None:
    cfg = SymbolConfig(symbol="ETHUSDC", net_max=0.2, near_layer_size=0.1, pinning_size_mult=3.0)
    qs = STRATEGY.quote(make_state(position_steps=150, config=cfg), 0)
    assert qs.pinning_side is Side.SELL
    assert qs.asks[0].layer == 0 and qs.asks[0].qty_steps == 150  # 100 × 3 capped at the position
    assert pinned_size_steps(10, 2.3, -5) == 5


def test_pinning_stays_off_when_the_position_is_below_one_valid_order() -> None:
    cfg = SymbolConfig(symbol="ETHUSDC", net_max=0.005)  # 5 steps; 20 USDC at 3000 needs 7 steps
    qs = STRATEGY.quote(make_state(position_steps=5, config=cfg), 0)
    assert qs.pinning_side is None
    assert len(qs.asks) == 24


def test_pinning_widens_the_adding_side_and_keeps_it() -> None:
    base = SymbolConfig(symbol="ETHUSDC", net_max=0.2, pinning_widen_bps=0.0)
    wide = SymbolConfig(symbol="ETHUSDC", net_max=0.2, pinning_widen_bps=50.0)
    a = STRATEGY.quote(make_state(position_steps=180, config=base), 0)
    b = STRATEGY.quote(make_state(position_steps=180, config=wide), 0)
    assert len(b.bids) == 24  # the adding side is never dropped
    shift = a.bids[0].price_ticks - b.bids[0].price_ticks
    assert shift == pytest.approx(a.reservation_price * 50e-4 / 0.01, abs=1)
    assert [q.price_ticks for q in a.asks] == [q.price_ticks for q in b.asks]  # reducing side untouched
    c = STRATEGY.quote(make_state(position_steps=-180, config=wide), 0)
    d = STRATEGY.quote(make_state(position_steps=-180, config=base), 0)
    assert c.asks[1].price_ticks - d.asks[1].price_ticks == pytest.approx(
        d.reservation_price * 50e-4 / 0.01, abs=1
    )


def test_pinned_layer_is_dropped_rather_than_bumped_past_the_position() -> None:
    # the mark sits far below the book: the band pushes the pinned ask up, where it still needs no more size,
    # but a bid-side pin pushed down by the band would need more steps than the position holds
    cfg = SymbolConfig(
        symbol="ETHUSDC", net_max=0.01, pinning_ratio=0.5, near_layer_size=0.01, pinning_size_mult=1.0
    )
    st_ = make_state(position_steps=-7, config=cfg, mark_price=2700.0)  # bids capped at 2835
    qs = STRATEGY.quote(st_, 0)
    assert qs.pinning_side is Side.BUY
    assert all(q.layer != 0 for q in qs.bids)  # 7 steps × 2835 < 20 USDC: bump would exceed |position|
    assert all(q.qty_steps <= 7 or q.layer != 0 for q in qs.bids)


def test_inventory_ratio_is_clamped() -> None:
    assert inventory_ratio(300, 200) == 1.0
    assert inventory_ratio(-300, 200) == -1.0
    assert inventory_ratio(50, 200) == 0.25
    assert inventory_ratio(5, 0) == 1.0 and inventory_ratio(-5, 0) == -1.0 and inventory_ratio(0, 0) == 0.0


def test_no_two_sided_book_means_no_quotes() -> None:
    st_ = make_state()
    st_.book.clear()
    qs = STRATEGY.quote(st_, 7)
    assert qs.bids == () and qs.asks == () and qs.ts_ns == 7


def test_notional_net_max_limits_the_skew_base() -> None:
    cfg = SymbolConfig(symbol="ETHUSDC", net_max=10.0, net_max_notional_usdc=600.0)  # 0.2 ETH at 3000
    qs = STRATEGY.quote(make_state(position_steps=199, config=cfg), 0)
    assert qs.pinning_side is Side.SELL


def test_coarse_tick_symbol_keeps_at_least_one_tick_of_spread_and_spacing() -> None:
    from phoenix.core.types import SymbolFilters

    f = SymbolFilters(
        symbol="ETHUSDC",
        tick_size=Decimal("1"),
        step_size=Decimal("0.01"),
        min_qty=Decimal("0.01"),
        min_notional=Decimal("5"),
    )
    cfg = SymbolConfig(symbol="ETHUSDC", net_max=5.0)
    qs = STRATEGY.quote(make_state(bid_ticks=1000, ask_ticks=1001, config=cfg, filters=f), 0)
    near = [q.price_ticks for q in qs.bids if q.layer < 8]
    assert near == list(range(999, 991, -1))  # 3 bps of 1000 < 1 tick: r − 1 tick, then 1 tick apart
    assert qs.half_spread_bps == pytest.approx(1 / 1000.5 * 1e4)
    assert len(qs.asks) == 24


@pytest.mark.parametrize("position", [180, -180])
def test_near_layers_keep_their_spacing_behind_a_pinned_quote(position: int) -> None:
    # 90 % of net_max: the skewed reservation puts the reducing side's first near targets inside the touch;
    # they must not be stacked one tick apart behind the pin but sit a layer spacing apart from it outwards
    bb, ba = 300_000, 300_001
    st = make_state(bid_ticks=bb, ask_ticks=ba, position_steps=position)
    qs = STRATEGY.quote(st, 0)
    side = qs.asks if position > 0 else qs.bids
    near = [q for q in side if q.layer < st.config.near_layers]
    assert near[0].layer == 0 and near[0].price_ticks == (ba if position > 0 else bb)
    spacing_ticks = 3000.0 * st.config.near_layer_spacing_bps * 1e-4 / 0.01  # ≈ 60 ticks at r ≈ 3000
    gaps = [abs(b.price_ticks - a.price_ticks) for a, b in itertools.pairwise(near)]
    assert len(gaps) == st.config.near_layers - 1
    assert min(gaps) >= spacing_ticks * 0.98
    assert [q.layer for q in near] == list(range(st.config.near_layers))
    # the same touch one tick further: the pinned side's ladder slides with it, as a whole
    moved = STRATEGY.quote(
        make_state(
            bid_ticks=bb + 1 if position < 0 else bb - 1,
            ask_ticks=ba + 1 if position < 0 else ba - 1,
            position_steps=position,
        ),
        0,
    )
    moved_side = moved.asks if position > 0 else moved.bids
    shift = [b.price_ticks - a.price_ticks for a, b in zip(near, moved_side, strict=False)]
    assert set(shift[: st.config.near_layers]) <= {-1, 0, 1}
