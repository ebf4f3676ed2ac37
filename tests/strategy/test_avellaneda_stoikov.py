"""Avellaneda-Stoikov 2008 formulas (checked against the paper's numbers) and the A-S strategy."""

from __future__ import annotations

import math

import pytest

from phoenix.config import SymbolConfig
from phoenix.strategy.avellaneda_stoikov import (
    AvellanedaStoikovStrategy,
    as_average_spread,
    as_bid_ask,
    as_fill_intensity,
    as_reservation_price,
    as_spread,
    glft_half_spread_and_skew,
)
from tests.strategy.support import make_state


@pytest.mark.parametrize(("gamma", "expected"), [(0.1, 1.4908), (0.01, 1.3489), (1.0, 3.0217)])
def test_average_spread_matches_the_published_tables(gamma: float, expected: float) -> None:
    # V1 (QF 2008) tables: average spread = γσ²T/2 + (2/γ)ln(1+γ/k), σ=2, T=1, k=1.5
    assert as_average_spread(1.0, 2.0, gamma, 1.5) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(
    ("gamma", "at_zero", "at_end"),
    [(0.01, 1.3689, 1.3289), (0.1, 1.6908, 1.2908), (0.5, 3.1507, 1.1507), (1.0, 5.0217, 1.0217)],
)
def test_spread_at_start_and_end_of_the_horizon(gamma: float, at_zero: float, at_end: float) -> None:
    assert as_spread(0.0, 1.0, 2.0, gamma, 1.5) == pytest.approx(at_zero, abs=1e-4)
    assert as_spread(1.0, 1.0, 2.0, gamma, 1.5) == pytest.approx(at_end, abs=1e-4)


def test_reservation_price_skews_against_inventory() -> None:
    # skew of r per unit q at t=0 is γσ²T: 0.4 for γ=0.1
    assert as_reservation_price(100.0, 0.0, 0.0, 1.0, 2.0, 0.1) == 100.0
    assert as_reservation_price(100.0, 1.0, 0.0, 1.0, 2.0, 0.1) == pytest.approx(99.6)
    assert as_reservation_price(100.0, -2.0, 0.5, 1.0, 2.0, 0.1) == pytest.approx(100.4)
    bid, ask = as_bid_ask(100.0, 1.0, 0.0, 1.0, 2.0, 0.1, 1.5)
    assert (bid + ask) / 2 == pytest.approx(99.6)
    assert ask - bid == pytest.approx(1.6908, abs=1e-4)


def test_fill_intensity_and_glft_worked_numbers() -> None:
    assert as_fill_intensity(0.0, 140.0, 1.5) == 140.0
    assert as_fill_intensity(1.0, 140.0, 1.5) == pytest.approx(140.0 * math.exp(-1.5))
    # docs/avellaneda-stoikov-2008.md §5 worked numbers (σ=2, k=1.5, A=140)
    for gamma, skew, spread, bid0 in ((0.01, 0.01612, 1.3450, 0.6725), (0.1, 0.05172, 1.3425, 0.6712)):
        half, got_skew = glft_half_spread_and_skew(2.0, gamma, 1.5, 140.0)
        assert got_skew == pytest.approx(skew, abs=1e-5)
        assert 2 * half == pytest.approx(spread, abs=1e-4)
        assert half == pytest.approx(bid0, abs=1e-4)


def test_strategy_quotes_around_the_inventory_adjusted_reservation() -> None:
    cfg = SymbolConfig(symbol="ETHUSDC", net_max=1.0, as_gamma=0.1, as_k=1.5, as_horizon_s=60.0)
    strat = AvellanedaStoikovStrategy()
    flat = strat.quote(make_state(config=cfg, sigma_1s=1e-4), 0)
    long_ = strat.quote(make_state(config=cfg, sigma_1s=1e-4, position_steps=500), 0)
    assert len(flat.bids) == 1 and len(flat.asks) == 1
    assert long_.reservation_price < flat.reservation_price
    assert flat.bids[0].price_ticks < flat.asks[0].price_ticks
    assert flat.bids[0].price_ticks <= 300_000 and flat.asks[0].price_ticks >= 300_001
    st_ = make_state(config=cfg, sigma_1s=1e-4)
    sig_bps = st_.signals.sigma_1s_bps(cfg.vol_window_s)
    assert sig_bps is not None
    sigma = 3000.005 * sig_bps * 1e-4
    expected_half = 0.5 * as_spread(0.0, 60.0, sigma, 0.1, 1.5)
    assert flat.half_spread_bps == pytest.approx(expected_half / flat.reservation_price * 1e4)
    # several layers, each finished and monotone
    multi = AvellanedaStoikovStrategy(layers=4).quote(make_state(config=cfg), 0)
    assert [q.layer for q in multi.bids] == [0, 1, 2, 3]
    assert all(a.price_ticks > b.price_ticks for a, b in zip(multi.bids, multi.bids[1:], strict=False))


def test_strategy_without_vol_history_uses_the_reference_vol_and_needs_a_book() -> None:
    strat = AvellanedaStoikovStrategy()
    qs = strat.quote(make_state(), 0)
    assert len(qs.bids) == 1
    st_ = make_state()
    st_.book.clear()
    assert strat.quote(st_, 0).bids == ()
    with pytest.raises(ValueError):
        AvellanedaStoikovStrategy(layers=0)
