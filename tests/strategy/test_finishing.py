"""finish_quotes / refinish: grid, post-only clamp, band, monotone ladders, minimums, no size growth."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phoenix.core.types import Quote, QuoteSet, Side, SymbolFilters
from phoenix.strategy.finishing import finish_quotes, refinish
from tests.strategy.support import eth_filters


def check_invariants(
    qs: QuoteSet, f: SymbolFilters, best_bid: int | None, best_ask: int | None, mark: float | None
) -> None:
    bid_prices = [q.price_ticks for q in qs.bids]
    ask_prices = [q.price_ticks for q in qs.asks]
    assert bid_prices == sorted(set(bid_prices), reverse=True), "bids strictly descending"
    assert ask_prices == sorted(set(ask_prices)), "asks strictly ascending"
    for q in qs.bids:
        assert q.side is Side.BUY and q.price_ticks >= 1
        if best_bid is not None:
            assert q.price_ticks <= best_bid
        if best_ask is not None:
            assert q.price_ticks < best_ask
        if mark is not None:
            assert Decimal(q.price_ticks) * f.tick_size <= Decimal(repr(mark)) * f.percent_up
    for q in qs.asks:
        assert q.side is Side.SELL
        if best_ask is not None:
            assert q.price_ticks >= best_ask
        if best_bid is not None:
            assert q.price_ticks > best_bid
        if mark is not None:
            assert Decimal(q.price_ticks) * f.tick_size >= Decimal(repr(mark)) * f.percent_down
    for q in qs.bids + qs.asks:
        assert isinstance(q.price_ticks, int) and isinstance(q.qty_steps, int)
        assert q.qty_steps >= f.min_qty_steps
        notional = Decimal(q.price_ticks) * f.tick_size * Decimal(q.qty_steps) * f.step_size
        assert notional >= f.min_notional
        assert Decimal(q.qty_steps) * f.step_size <= f.max_qty


filters_st = st.builds(
    lambda tick, step, min_qty_mult, notional: SymbolFilters(
        symbol="XUSDC",
        tick_size=Decimal(tick),
        step_size=Decimal(step),
        min_qty=Decimal(step) * min_qty_mult,
        min_notional=Decimal(notional),
        max_qty=Decimal(step) * 100_000,
    ),
    st.sampled_from(["0.001", "0.01", "0.1", "1"]),
    st.sampled_from(["0.001", "0.01", "0.1", "1"]),
    st.integers(1, 5),
    st.sampled_from(["5", "20", "100"]),
)


@st.composite
def scenario(draw: st.DrawFn) -> tuple:
    f = draw(filters_st)
    mid_ticks = draw(st.integers(2_000, 5_000_000))
    spread = draw(st.integers(1, 50))
    best_bid = mid_ticks - spread // 2 - 1
    best_ask = best_bid + spread
    mid = (best_bid + best_ask) / 2 * f.tick
    has_bid = draw(st.integers(0, 9)) != 0  # one side of the book missing now and then
    has_ask = draw(st.integers(0, 9)) != 0
    min_qty = float(f.min_notional) / mid

    def drafts() -> list[tuple[float, float, int]]:
        n = draw(st.integers(0, 30))
        out = []
        for layer in range(n):
            rel = draw(st.floats(-0.2, 0.2, allow_nan=False))
            qty = draw(st.floats(0.0, 3.0, allow_nan=False)) * max(min_qty, float(f.min_qty))
            out.append((mid * (1 + rel), qty, layer))
        return out

    mark = draw(st.one_of(st.none(), st.floats(0.9, 1.1).map(lambda x: mid * x)))
    return (
        f,
        best_bid if has_bid else None,
        best_ask if has_ask else None,
        drafts(),
        drafts(),
        mark,
        draw(st.booleans()),
    )


@settings(max_examples=300, deadline=None, derandomize=True)
@given(scenario())
def test_finished_quotes_are_always_exchange_valid(case: tuple) -> None:
    f, best_bid, best_ask, bids, asks, mark, bump = case
    qs = finish_quotes(
        "XUSDC",
        1,
        bids,
        asks,
        f,
        best_bid_ticks=best_bid,
        best_ask_ticks=best_ask,
        mark_price=mark,
        bump_to_min=bump,
    )
    check_invariants(qs, f, best_bid, best_ask, mark)
    # never more aggressive than asked, and never larger than asked unless bumping
    by_layer_bid = {layer: (p, q) for p, q, layer in bids}
    by_layer_ask = {layer: (p, q) for p, q, layer in asks}
    for quote in qs.bids:
        p, q = by_layer_bid[quote.layer]
        assert quote.price_ticks * f.tick <= p * (1 + 1e-12) + 1e-12
        if not bump:
            assert quote.qty_steps * f.step <= q * (1 + 1e-9)
    for quote in qs.asks:
        p, q = by_layer_ask[quote.layer]
        assert quote.price_ticks * f.tick >= p * (1 - 1e-12) - 1e-12
        if not bump:
            assert quote.qty_steps * f.step <= q * (1 + 1e-9)
    # with bumping, every layer of at least one step survives (prices here stay far above 1 tick)
    if bump:
        assert len(qs.asks) == sum(1 for _, q, _ in asks if f.qty_to_steps(q) > 0)
    # refinishing a finished set changes nothing
    again = refinish(qs, f, best_bid_ticks=best_bid, best_ask_ticks=best_ask, mark_price=mark)
    assert again == qs


def test_rounding_is_passive_and_sizes_round_down() -> None:
    f = eth_filters()
    qs = finish_quotes(
        "ETHUSDC",
        5,
        [(2999.999, 0.0109, 0)],
        [(3000.021, 0.0109, 0)],
        f,
        best_bid_ticks=300_000,
        best_ask_ticks=300_001,
    )
    assert qs.bids == (Quote(side=Side.BUY, price_ticks=299_999, qty_steps=10, layer=0),)
    assert qs.asks == (Quote(side=Side.SELL, price_ticks=300_003, qty_steps=10, layer=0),)
    assert qs.ts_ns == 5 and qs.symbol == "ETHUSDC"


def test_crossing_layers_are_clamped_to_the_touch_and_pushed_outwards() -> None:
    f = eth_filters()
    bids = [(3005.0, 0.01, 0), (3004.0, 0.01, 1), (2990.0, 0.01, 2)]
    asks = [(2995.0, 0.01, 0), (2996.0, 0.01, 1), (3010.0, 0.01, 2)]
    qs = finish_quotes("ETHUSDC", 0, bids, asks, f, best_bid_ticks=300_000, best_ask_ticks=300_002)
    assert [(q.price_ticks, q.layer) for q in qs.bids] == [(300_000, 0), (299_999, 1), (299_000, 2)]
    assert [(q.price_ticks, q.layer) for q in qs.asks] == [(300_002, 0), (300_003, 1), (301_000, 2)]


def test_one_sided_book_still_never_crosses() -> None:
    f = eth_filters()
    qs = finish_quotes(
        "ETHUSDC", 0, [(3005.0, 0.01, 0)], [(2990.0, 0.01, 0)], f, best_bid_ticks=None, best_ask_ticks=300_002
    )
    assert qs.bids[0].price_ticks == 300_001 and qs.asks[0].price_ticks == 300_002
    qs = finish_quotes(
        "ETHUSDC", 0, [(3005.0, 0.01, 0)], [(2990.0, 0.01, 0)], f, best_bid_ticks=300_000, best_ask_ticks=None
    )
    assert qs.bids[0].price_ticks == 300_000 and qs.asks[0].price_ticks == 300_001


def test_small_layers_are_bumped_or_dropped() -> None:
    f = eth_filters()
    drafts = [(3000.0, 0.005, 0), (2999.0, 0.02, 1)]  # 0.005 × 3000 = 15 USDC < 20
    dropped = finish_quotes("ETHUSDC", 0, drafts, [], f, best_bid_ticks=300_000, best_ask_ticks=300_001)
    assert [q.layer for q in dropped.bids] == [1]
    bumped = finish_quotes(
        "ETHUSDC", 0, drafts, [], f, best_bid_ticks=300_000, best_ask_ticks=300_001, bump_to_min=True
    )
    assert [(q.layer, q.qty_steps) for q in bumped.bids] == [(0, 7), (1, 20)]  # ceil(20 / 3000 / 0.001) = 7


def test_zero_size_layers_vanish_and_max_qty_caps() -> None:
    f = SymbolFilters(
        symbol="ETHUSDC",
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.001"),
        min_qty=Decimal("0.001"),
        min_notional=Decimal("20"),
        max_qty=Decimal("0.5"),
    )
    qs = finish_quotes(
        "ETHUSDC",
        0,
        [(3000.0, 0.0001, 0), (2999.0, 7.0, 1)],
        [(3001.0, 9.0, 0)],
        f,
        best_bid_ticks=300_000,
        best_ask_ticks=300_001,
    )
    assert [(q.layer, q.qty_steps) for q in qs.bids] == [(1, 500)]
    assert qs.asks[0].qty_steps == 500
    tiny_max = SymbolFilters(
        symbol="ETHUSDC",
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.001"),
        min_qty=Decimal("0.001"),
        min_notional=Decimal("20"),
        max_qty=Decimal("0.005"),
    )
    qs = finish_quotes(
        "ETHUSDC", 0, [(3000.0, 1.0, 0)], [], tiny_max, best_bid_ticks=300_000, best_ask_ticks=300_001
    )
    assert qs.bids == ()  # even the max qty is below min notional


def test_percent_price_band_limits_both_sides() -> None:
    f = eth_filters()
    mark = 2800.0  # the book trades above the mark: bids above 2940 are refused by the exchange
    qs = finish_quotes(
        "ETHUSDC",
        0,
        [(2999.0, 0.01, 0), (2930.0, 0.01, 1)],
        [(2600.0, 0.01, 0)],
        f,
        best_bid_ticks=300_000,
        best_ask_ticks=300_001,
        mark_price=mark,
    )
    assert [q.price_ticks for q in qs.bids] == [294_000, 293_000]
    qs = finish_quotes(
        "ETHUSDC",
        0,
        [],
        [(2600.0, 0.01, 0)],
        f,
        best_bid_ticks=250_000,
        best_ask_ticks=250_001,
        mark_price=mark,
    )
    assert qs.asks[0].price_ticks == 266_000


def test_bids_that_would_fall_below_one_tick_are_dropped() -> None:
    f = SymbolFilters(
        symbol="XUSDC",
        tick_size=Decimal("1"),
        step_size=Decimal("1"),
        min_qty=Decimal("1"),
        min_notional=Decimal("1"),
    )
    qs = finish_quotes(
        "XUSDC", 0, [(2.0, 5.0, 0), (1.0, 5.0, 1), (1.0, 5.0, 2)], [], f, best_bid_ticks=2, best_ask_ticks=3
    )
    assert [(q.price_ticks, q.layer) for q in qs.bids] == [(2, 0), (1, 1)]


def test_refinish_never_bumps_trimmed_layers() -> None:
    f = eth_filters()
    qs = finish_quotes(
        "ETHUSDC",
        9,
        [(2999.0, 0.02, 0)],
        [(3001.0, 0.02, 0)],
        f,
        best_bid_ticks=300_000,
        best_ask_ticks=300_001,
        reservation_price=3000.0,
        half_spread_bps=3.0,
        pinning_side=Side.SELL,
    )
    trimmed = QuoteSet(
        symbol=qs.symbol,
        ts_ns=qs.ts_ns,
        bids=(Quote(side=Side.BUY, price_ticks=299_900, qty_steps=3, layer=0),),
        asks=qs.asks,
        reservation_price=qs.reservation_price,
        half_spread_bps=qs.half_spread_bps,
        pinning_side=qs.pinning_side,
    )
    out = refinish(trimmed, f, best_bid_ticks=300_000, best_ask_ticks=300_001)
    assert out.bids == () and out.asks == qs.asks
    assert out.reservation_price == 3000.0 and out.half_spread_bps == 3.0 and out.pinning_side is Side.SELL
    assert out.ts_ns == 9


@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
def test_empty_input_gives_empty_side(side: Side) -> None:
    qs = finish_quotes("ETHUSDC", 0, [], [], eth_filters(), best_bid_ticks=1, best_ask_ticks=2)
    assert qs.bids == () and qs.asks == ()
