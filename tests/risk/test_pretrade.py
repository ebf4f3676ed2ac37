"""Pre-trade trim: directional worst case, reducing side kept, minimums after trimming, reason codes."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from phoenix.config import SymbolConfig
from phoenix.core.store import SymbolState
from phoenix.core.types import Quote, QuoteSet, Side, SymbolFilters
from phoenix.risk.pretrade import TrimReason, side_limits, trim_quotes

ETH = SymbolFilters(
    symbol="ETHUSDC",
    tick_size=Decimal("0.01"),
    step_size=Decimal("0.001"),
    min_qty=Decimal("0.001"),
    min_notional=Decimal("20"),
)
BID = 280_000  # 2800.00
T = 1_763_974_800_000_000_000


def state(net_max: float, position_steps: int) -> SymbolState:
    st_ = SymbolState.create(SymbolConfig(symbol="ETHUSDC", net_max=net_max), ETH)
    st_.book.apply_top(BID, 5.0, BID + 1, 5.0, T)
    st_.position.qty_steps = position_steps
    return st_


def ladder(side: Side, sizes: list[int], spacing: int = 6) -> tuple[Quote, ...]:
    start = BID if side is Side.BUY else BID + 1
    sign = -1 if side is Side.BUY else 1
    return tuple(
        Quote(side=side, price_ticks=start + sign * i * spacing, qty_steps=q, layer=i)
        for i, q in enumerate(sizes)
    )


def test_spec_net_max_trims_adding_side_from_the_far_end_and_keeps_the_reducing_side() -> None:
    # long 0.15 ETH with net_max 0.20: only 0.05 of bids may rest; asks reduce and are kept
    s = state(0.20, 150)
    qs = QuoteSet(
        symbol="ETHUSDC",
        ts_ns=T,
        bids=ladder(Side.BUY, [10, 12, 14, 16, 19]),
        asks=ladder(Side.SELL, [10, 12, 14, 16, 19]),
    )
    res = trim_quotes(qs, s, side_limits(s))
    assert [q.qty_steps for q in res.quotes.bids] == [10, 12, 14, 14]  # near layers kept, far end cut
    assert sum(q.qty_steps for q in res.quotes.bids) == 50
    assert res.quotes.asks == qs.asks
    assert {t.reason for t in res.trims} == {TrimReason.NET_MAX}
    assert [(t.layer, t.to_qty_steps) for t in res.trims] == [(3, 14), (4, 0)]


def test_reducing_only_keeps_exactly_the_reducing_side_up_to_the_position() -> None:
    s = state(0.20, -120)  # short 0.12
    qs = QuoteSet(
        symbol="ETHUSDC", ts_ns=T, bids=ladder(Side.BUY, [50, 50, 50]), asks=ladder(Side.SELL, [10])
    )
    res = trim_quotes(qs, s, side_limits(s, reducing_only=True))
    assert sum(q.qty_steps for q in res.quotes.bids) == 120
    assert res.quotes.asks == ()
    assert {t.reason for t in res.trims} == {TrimReason.REDUCING_ONLY}


def test_remainder_below_min_notional_is_dropped_with_a_reason() -> None:
    s = state(0.20, 195)  # room for 0.005 ETH = 14 USDC < 20 USDC min notional
    qs = QuoteSet(symbol="ETHUSDC", ts_ns=T, bids=ladder(Side.BUY, [10]), asks=())
    res = trim_quotes(qs, s, side_limits(s))
    assert res.quotes.bids == ()
    assert res.trims[0].reason is TrimReason.MIN_SIZE


# finished strategy output: every layer already meets min notional (8 steps × ~2800 USDC ≥ 20 USDC)
sizes = st.lists(st.integers(min_value=8, max_value=400), min_size=0, max_size=24)


@settings(max_examples=400, deadline=None)
@given(
    net_max=st.floats(min_value=0.01, max_value=5.0),
    pos_ratio=st.floats(min_value=-1.5, max_value=1.5),
    bids=sizes,
    asks=sizes,
    reducing=st.booleans(),
    allowance=st.one_of(st.none(), st.integers(min_value=0, max_value=6000)),
)
def test_trim_properties(
    net_max: float, pos_ratio: float, bids: list[int], asks: list[int], reducing: bool, allowance: int | None
) -> None:
    limit_steps = ETH.qty_to_steps(net_max)
    pos = int(pos_ratio * limit_steps)
    s = state(net_max, pos)
    qs = QuoteSet(symbol="ETHUSDC", ts_ns=T, bids=ladder(Side.BUY, bids), asks=ladder(Side.SELL, asks))
    limits = side_limits(s, reducing_only=reducing, global_allowance_steps=allowance)
    res = trim_quotes(qs, s, limits)
    out_b, out_a = res.quotes.bids, res.quotes.asks
    total_b = sum(q.qty_steps for q in out_b)
    total_a = sum(q.qty_steps for q in out_a)
    # no combination of fills of these orders can pass the limit on either side
    assert total_b == 0 or pos + total_b <= limits.buy.limit_steps
    assert total_a == 0 or -pos + total_a <= limits.sell.limit_steps
    # every remaining order is exchange-valid and never larger than the strategy wanted
    wanted = {(q.side, q.layer): q.qty_steps for q in (*qs.bids, *qs.asks)}
    for q in (*out_b, *out_a):
        assert q.qty_steps >= ETH.min_steps_at(q.price_ticks)
        assert q.qty_steps <= wanted[(q.side, q.layer)]
    # the reducing side is never removed by a limit
    if pos > 0 and qs.asks and min(pos, qs.asks[0].qty_steps) >= ETH.min_steps_at(qs.asks[0].price_ticks):
        assert out_a and out_a[0].layer == 0
    if pos < 0 and qs.bids and min(-pos, qs.bids[0].qty_steps) >= ETH.min_steps_at(qs.bids[0].price_ticks):
        assert out_b and out_b[0].layer == 0
    # every change is reported with a reason
    changed = {(q.side, q.layer) for q in (*qs.bids, *qs.asks)} - {
        (q.side, q.layer) for q in (*out_b, *out_a)
    }
    reported = {(t.side, t.layer) for t in res.trims}
    assert changed <= reported
