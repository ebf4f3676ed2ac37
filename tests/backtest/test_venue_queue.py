"""Queue-position, trade-through, crossing and no-double-fill behaviour of the backtest venue."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from phoenix.backtest.account import Account, FeeRates
from phoenix.backtest.intensity import IntensityFillModel
from phoenix.backtest.queue import (
    ProbQueue,
    QueuePos,
    RiskAverseQueue,
    log_prob,
    make_queue_model,
    power_prob,
)
from phoenix.backtest.venue import ERR_POST_ONLY, FillModel, SymbolVenue
from phoenix.core.types import (
    OrderFilled,
    OrderStatus,
    OrderType,
    OrderUpdated,
    Side,
    SymbolFilters,
    TimeInForce,
)

SYM = "TESTUSDC"
FILTERS = SymbolFilters(
    symbol=SYM,
    tick_size=Decimal("0.01"),
    step_size=Decimal("1"),
    min_qty=Decimal("1"),
    min_notional=Decimal("0"),
)


def make_venue(
    fill_model: FillModel = FillModel.QUEUE, queue: str = "risk_averse", **kw: object
) -> SymbolVenue:
    acct = Account.create(1_000_000.0, {SYM: FILTERS}, {SYM: FeeRates(0.0, 0.0004)}, leverage=10)
    v = SymbolVenue(FILTERS, acct, fill_model=fill_model, queue_model=make_queue_model(queue), **kw)  # type: ignore[arg-type]
    v.on_snapshot([(10000, 5.0), (9999, 7.0)], [(10001, 4.0), (10002, 6.0)], 0, 0)
    return v


def place(
    v: SymbolVenue, coid: str, side: Side, price: int, qty: int, now: int = 1, **kw: object
) -> list[object]:
    tif = kw.get("tif", TimeInForce.GTX)
    otype = kw.get("otype", OrderType.LIMIT)
    return list(v.place(coid, side, price, qty, otype, tif, False, now, now))  # type: ignore[arg-type]


def filled(reports: list[object]) -> int:
    return sum(r.fill.qty_steps for r in reports if isinstance(r, OrderFilled))


def test_order_behind_five_lots_fills_only_after_five_lots_trade() -> None:
    v = make_venue()
    place(v, "b1", Side.BUY, 10000, 1)
    assert v.orders["b1"].queue.front_qty == 5.0
    assert filled(v.on_trade(10000, 3.0, Side.SELL, 2, 2)) == 0
    assert filled(v.on_trade(10000, 2.0, Side.SELL, 3, 3)) == 0
    out = v.on_trade(10000, 1.0, Side.SELL, 4, 4)
    assert filled(out) == 1
    assert "b1" not in v.orders
    assert v.account.symbols[SYM].qty_steps == 1


def test_one_trade_larger_than_queue_fills_only_the_excess() -> None:
    v = make_venue()
    place(v, "b1", Side.BUY, 10000, 3)
    out = v.on_trade(10000, 6.0, Side.SELL, 2, 2)
    assert filled(out) == 1  # 5 ahead, 6 traded: only 1 lot reached us
    assert v.orders["b1"].filled_steps == 1
    assert v.orders["b1"].status is OrderStatus.PARTIALLY_FILLED


def test_risk_averse_cancel_does_not_advance_unless_below_queue() -> None:
    v = make_venue()
    place(v, "b1", Side.BUY, 10000, 1)
    v.on_delta([(10000, 8.0)], [], 2, 2)  # someone joined behind
    assert v.orders["b1"].queue.front_qty == 5.0
    v.on_delta([(10000, 6.0)], [], 3, 3)  # cancels (assumed behind us)
    assert v.orders["b1"].queue.front_qty == 5.0
    v.on_delta([(10000, 3.0)], [], 4, 4)  # fewer shown than were ahead: clamp
    assert v.orders["b1"].queue.front_qty == 3.0
    assert filled(v.on_trade(10000, 3.0, Side.SELL, 5, 5)) == 0
    assert filled(v.on_trade(10000, 1.0, Side.SELL, 6, 6)) == 1


def test_prob_queue_splits_unexplained_decrease() -> None:
    model = ProbQueue(power_prob(2.0))
    pos = QueuePos(4.0)  # 4 ahead, level 10 → 6 behind
    model.on_depth_change(pos, 10.0, 8.0)
    # p = 6²/(6²+4²) = 36/52 of the decrease is behind us; (1-p)·2 ahead
    assert pos.front_qty == pytest.approx(4.0 - (16 / 52) * 2.0)


def test_prob_queue_does_not_double_count_trades() -> None:
    model = ProbQueue(log_prob)
    pos = QueuePos(4.0)
    assert model.on_trade(pos, 2.0) == 0.0
    assert pos.front_qty == 2.0
    model.on_depth_change(pos, 10.0, 8.0)  # the trade's own depth decrease: already counted
    assert pos.front_qty == 2.0


def test_risk_averse_queue_never_advances_on_cancel_alone() -> None:
    model = RiskAverseQueue()
    pos = QueuePos(4.0)
    model.on_depth_change(pos, 10.0, 5.0)
    assert pos.front_qty == 4.0


def test_trade_through_fills_capped_by_trade_qty_no_double_fill() -> None:
    v = make_venue(fill_model=FillModel.TRADE_THROUGH)
    place(v, "b1", Side.BUY, 10000, 3)
    # at our price: trade-through model ignores it
    assert filled(v.on_trade(10000, 100.0, Side.SELL, 2, 2)) == 0
    out = v.on_trade(9999, 2.0, Side.SELL, 3, 3)
    assert filled(out) == 2  # the trade printed 2 lots: we cannot get more than that
    out = v.on_trade(9999, 5.0, Side.SELL, 4, 4)
    assert filled(out) == 1


def test_two_orders_share_one_trade_budget() -> None:
    v = make_venue()
    v.on_delta([(10000, 0.0)], [], 1, 1)  # empty our level
    place(v, "b1", Side.BUY, 10000, 2, now=2)
    place(v, "b2", Side.BUY, 10000, 2, now=3)
    assert v.orders["b2"].queue.front_qty == 2.0  # behind our own first order
    out = v.on_trade(9999, 3.0, Side.SELL, 4, 4)  # through both
    assert filled(out) == 3


def test_taker_orders_do_not_consume_the_same_displayed_liquidity_twice() -> None:
    v = make_venue()
    r1 = place(v, "t1", Side.BUY, 10001, 3, tif=TimeInForce.IOC)
    r2 = place(v, "t2", Side.BUY, 10001, 3, tif=TimeInForce.IOC)
    assert filled(r1) == 3
    assert filled(r2) == 1  # only 4 shown at 100.01
    assert any(isinstance(r, OrderUpdated) and r.status is OrderStatus.EXPIRED for r in r2)
    v.on_delta([], [(10001, 4.0)], 5, 5)  # the feed refreshes the level
    assert filled(place(v, "t3", Side.BUY, 10001, 2, tif=TimeInForce.IOC, now=6)) == 2


def test_market_order_walks_the_book_and_pays_taker_fee() -> None:
    v = make_venue()
    out = place(v, "m1", Side.BUY, 0, 6, otype=OrderType.MARKET, tif=TimeInForce.IOC)
    fills = [r.fill for r in out if isinstance(r, OrderFilled)]
    assert [(f.price_ticks, f.qty_steps) for f in fills] == [(10001, 4), (10002, 2)]
    assert all(not f.maker for f in fills)
    assert fills[0].fee_usdc == pytest.approx(100.01 * 4 * 0.0004)


def test_post_only_that_would_take_is_rejected() -> None:
    v = make_venue()
    out = place(v, "b1", Side.BUY, 10001, 1)
    assert len(out) == 1
    upd = out[0]
    assert isinstance(upd, OrderUpdated)
    assert upd.status is OrderStatus.REJECTED and upd.error_code == ERR_POST_ONLY
    assert "b1" not in v.orders


def test_book_moving_through_our_price_fills_as_maker() -> None:
    v = make_venue()
    place(v, "s1", Side.SELL, 10002, 2)
    out = v.on_delta([(10002, 3.0)], [(10001, 0.0), (10002, 0.0)], 2, 2)
    fills = [r.fill for r in out if isinstance(r, OrderFilled)]
    assert len(fills) == 1 and fills[0].maker and fills[0].price_ticks == 10002
    assert v.account.symbols[SYM].qty_steps == -2


def test_cancel_of_filled_order_reports_final_state() -> None:
    v = make_venue()
    place(v, "s1", Side.SELL, 10001, 1)
    v.on_trade(10001, 10.0, Side.BUY, 2, 2)
    out = v.cancel("s1", 3, 3)
    assert isinstance(out[0], OrderUpdated)
    assert out[0].status is OrderStatus.FILLED and out[0].error_code == -2011


def test_modify_loses_queue_priority() -> None:
    v = make_venue()
    place(v, "b1", Side.BUY, 10000, 1)
    v.on_trade(10000, 4.0, Side.SELL, 2, 2)
    assert v.orders["b1"].queue.front_qty == 1.0
    v.modify("b1", 10000, 2, 3, 3)
    assert v.orders["b1"].queue.front_qty == 5.0


def test_intensity_fills_are_seeded_and_follow_the_rate() -> None:
    model = IntensityFillModel(a_per_s=2.0, k=0.5, distance_unit="bps")

    def run(seed: int) -> int:
        v = make_venue(fill_model=FillModel.INTENSITY, intensity=model, rng=random.Random(seed))
        n = 0
        t = 0
        for i in range(2000):
            if not v.orders:
                place(v, f"b{i}", Side.BUY, 10000, 1, now=t)
            t += 100_000_000  # 100 ms
            out = v.on_snapshot([(10000, 5.0)], [(10001, 4.0)], t, t)
            n += filled(out)
        return n

    a, b = run(7), run(7)
    assert a == b
    # δ = 0.5 bp → λ = 2·e^(−0.25) ≈ 1.56/s; p per 100 ms ≈ 0.144; expected fills ≈ 2000·p/(1+p)... bounded
    assert 150 < a < 400
    assert run(8) != a
