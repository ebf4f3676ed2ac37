"""Order types, filters and error codes, self-trade prevention, cancel and modify rules."""

from __future__ import annotations

import pytest

from phoenix.core.types import OrderType, Side, TimeInForce
from phoenix.exchange.sim.sim_types import ExecType, ExpiryReason, SimError, SimOrderStatus, StpMode
from phoenix.exchange.sim.symbols import DEFAULT_SYMBOLS, wire_price_to_ticks, wire_qty_to_steps
from tests.sim.engine.conftest import ASK0, BID0, SYM, T0, Venue, order_updates


def _code(exc: pytest.ExceptionInfo[SimError]) -> int:
    return exc.value.code


def test_gtx_that_would_take_is_rejected_with_5022_and_leaves_no_trace(venue: Venue) -> None:
    with pytest.raises(SimError) as exc:
        venue.place(Side.BUY, ASK0, 100, tif=TimeInForce.GTX)
    assert _code(exc) == -5022
    assert venue.ex.open_orders(venue.a) == []
    assert venue.ex.depth(SYM, 1).asks == ((ASK0, 1.0),)


def test_gtx_that_would_take_a_participant_order_is_rejected(venue: Venue) -> None:
    venue.place(Side.SELL, ASK0 - 1 + 1, 100, account=venue.b)  # joins the ask at ASK0
    venue.place(Side.SELL, BID0 + 1, 100, account=venue.b)  # same level; best ask unchanged
    with pytest.raises(SimError) as exc:
        venue.place(Side.BUY, ASK0 + 1, 100, tif=TimeInForce.GTX)
    assert _code(exc) == -5022


def test_gtx_resting_emits_new_and_publishes_in_book(venue: Venue) -> None:
    view, events = venue.place(Side.BUY, BID0, 100, tif=TimeInForce.GTX)
    assert view.status is SimOrderStatus.NEW
    assert [e.exec_type for e in order_updates(events)] == [ExecType.NEW]
    assert venue.ex.depth(SYM, 1).bids == ((BID0, pytest.approx(1.1)),)


def test_ioc_partial_fill_expires_remainder(venue: Venue) -> None:
    view, events = venue.place(Side.BUY, ASK0, 1500, tif=TimeInForce.IOC)
    assert view.status is SimOrderStatus.EXPIRED
    assert view.executed_qty_steps == 1000
    ups = order_updates(events)
    assert [e.exec_type for e in ups] == [ExecType.NEW, ExecType.TRADE, ExecType.EXPIRED]
    assert ups[-1].expiry_reason == ExpiryReason.IOC_REMAINDER
    assert venue.ex.open_orders(venue.a) == []


def test_fok_rejected_with_5021_when_not_fully_fillable(venue: Venue) -> None:
    with pytest.raises(SimError) as exc:
        venue.place(Side.BUY, ASK0 + 1, 2500, tif=TimeInForce.FOK)
    assert _code(exc) == -5021
    view, _ = venue.place(Side.BUY, ASK0 + 1, 2000, tif=TimeInForce.FOK)
    assert view.status is SimOrderStatus.FILLED


def test_gtc_crossing_takes_then_rests_remainder(venue: Venue) -> None:
    view, _events = venue.place(Side.BUY, ASK0, 1300)
    assert view.status is SimOrderStatus.PARTIALLY_FILLED
    assert view.executed_qty_steps == 1000
    depth = venue.ex.depth(SYM, 1)
    assert depth.bids == ((ASK0, pytest.approx(0.3)),)
    assert depth.asks[0][0] == ASK0 + 1


def test_market_order_fills_with_average_price_and_taker_fee(venue: Venue) -> None:
    view, _ = venue.place(Side.BUY, 0, 1500, order_type=OrderType.MARKET)
    assert view.status is SimOrderStatus.FILLED
    assert view.avg_price == pytest.approx((3000.01 * 1.0 + 3000.02 * 0.5) / 1.5)
    trades = venue.ex.user_trades(venue.a, SYM)
    assert sum(t.commission_usdc for t in trades) == pytest.approx(view.cum_quote_usdc * 0.0004)
    assert all(not t.maker for t in trades)


def test_market_order_outside_take_bound_rejected_4131(venue: Venue) -> None:
    venue.ex.apply_mark_price(SYM, 2800.0, 0.0001, 0, T0 + 5)
    with pytest.raises(SimError) as exc:
        venue.place(Side.BUY, 0, 100, order_type=OrderType.MARKET)
    assert _code(exc) == -4131


@pytest.mark.parametrize(
    ("price_ticks", "qty_steps", "code"),
    [
        (BID0, 0, -4003),
        (BID0, 20_000_000, -4005),
        (BID0, 5, -4164),  # 0.005 × 3000 = 15 < 20
        (1000, 100, -4013),  # 10.00 < minPrice 39.86
        (40_000_000, 100, -4002),  # 400000 > maxPrice
        (BID0 * 2, 100, -4016),  # above mark × 1.05
    ],
)
def test_filters_reject_with_exact_codes(venue: Venue, price_ticks: int, qty_steps: int, code: int) -> None:
    with pytest.raises(SimError) as exc:
        venue.place(Side.BUY, price_ticks, qty_steps)
    assert _code(exc) == code


def test_sell_below_percent_floor_rejected_4024(venue: Venue) -> None:
    with pytest.raises(SimError) as exc:
        venue.place(Side.SELL, BID0 // 2, 100)
    assert _code(exc) == -4024


def test_min_notional_message_names_the_limit(venue: Venue) -> None:
    with pytest.raises(SimError) as exc:
        venue.place(Side.BUY, BID0, 6)
    assert "20" in exc.value.msg and "reduce only" in exc.value.msg


def test_wire_parsing_codes() -> None:
    flt = DEFAULT_SYMBOLS[SYM].filters
    assert wire_price_to_ticks(flt, "3000.01") == 300_001
    assert wire_price_to_ticks(flt, "3000") == 300_000
    assert wire_qty_to_steps(flt, "0.010") == 10
    with pytest.raises(SimError) as exc:
        wire_price_to_ticks(flt, "3000.005")
    assert exc.value.code == -1111
    btc = DEFAULT_SYMBOLS["BTCUSDC"].filters
    with pytest.raises(SimError) as exc:
        wire_price_to_ticks(DEFAULT_SYMBOLS["XRPUSDC"].filters, "0.50005")
    assert exc.value.code == -1111
    assert wire_price_to_ticks(btc, "28155.1") == 281_551
    with pytest.raises(SimError) as exc:
        wire_qty_to_steps(DEFAULT_SYMBOLS["XRPUSDC"].filters, "10.05")
    assert exc.value.code == -1111
    with pytest.raises(SimError) as exc:
        wire_price_to_ticks(flt, "abc")
    assert exc.value.code == -1102


def test_wire_parsing_not_on_grid_codes() -> None:
    from decimal import Decimal

    from phoenix.core.types import SymbolFilters

    flt = SymbolFilters(
        symbol="X",
        tick_size=Decimal("0.05"),
        step_size=Decimal("0.5"),
        min_qty=Decimal("0.5"),
        min_notional=Decimal("5"),
    )
    with pytest.raises(SimError) as exc:
        wire_price_to_ticks(flt, "1.01")
    assert exc.value.code == -4014
    with pytest.raises(SimError) as exc:
        wire_qty_to_steps(flt, "1.2")
    assert exc.value.code == -4023


def test_reduce_only_rejected_2022_without_position_and_caps_fill(venue: Venue) -> None:
    with pytest.raises(SimError) as exc:
        venue.place(Side.SELL, ASK0 + 2, 100, reduce_only=True)
    assert _code(exc) == -2022
    venue.place(Side.BUY, ASK0, 100, tif=TimeInForce.IOC)  # long 0.100
    with pytest.raises(SimError) as exc:
        venue.place(Side.BUY, BID0, 100, reduce_only=True)  # would increase
    assert _code(exc) == -2022
    view, events = venue.place(Side.SELL, BID0, 300, tif=TimeInForce.IOC, reduce_only=True)
    assert view.executed_qty_steps == 100  # capped at the position
    assert view.status is SimOrderStatus.EXPIRED
    assert order_updates(events)[-1].expiry_reason == ExpiryReason.REDUCE_ONLY
    assert venue.ex.positions(venue.a)[0].qty_steps == 0


def test_resting_reduce_only_expires_when_position_closes(venue: Venue) -> None:
    venue.place(Side.BUY, ASK0, 100, tif=TimeInForce.IOC)
    ro, _ = venue.place(Side.SELL, ASK0 + 3, 100, reduce_only=True)
    venue.place(Side.SELL, BID0, 100, tif=TimeInForce.IOC)  # closes the position
    assert venue.order(ro).status is SimOrderStatus.EXPIRED


@pytest.mark.parametrize(
    ("mode", "maker_status", "taker_status"),
    [
        (StpMode.EXPIRE_MAKER, SimOrderStatus.EXPIRED_IN_MATCH, SimOrderStatus.NEW),
        (StpMode.EXPIRE_TAKER, SimOrderStatus.NEW, SimOrderStatus.EXPIRED_IN_MATCH),
        (StpMode.EXPIRE_BOTH, SimOrderStatus.EXPIRED_IN_MATCH, SimOrderStatus.EXPIRED_IN_MATCH),
        (StpMode.NONE, SimOrderStatus.FILLED, SimOrderStatus.PARTIALLY_FILLED),
    ],
)
def test_self_trade_prevention_modes(
    venue: Venue, mode: StpMode, maker_status: SimOrderStatus, taker_status: SimOrderStatus
) -> None:
    maker, _ = venue.place(Side.SELL, BID0 + 1, 100)  # joins ASK0 behind 1.0 of market
    venue.ex.apply_market_delta(SYM, [], [(ASK0, 0.0)], T0 + 15)  # market leaves: we are alone at ASK0
    taker, _ = venue.place(Side.BUY, ASK0, 200, stp=mode, now_ms=T0 + 20)
    assert venue.order(maker).status is maker_status
    assert taker.status is taker_status


def test_client_order_id_rules(venue: Venue) -> None:
    venue.place(Side.BUY, BID0, 100, client_order_id="mm-1")
    with pytest.raises(SimError) as exc:
        venue.place(Side.BUY, BID0, 100, client_order_id="mm-1")
    assert _code(exc) == -4116
    with pytest.raises(SimError) as exc:
        venue.place(Side.BUY, BID0, 100, client_order_id="bad id!")
    assert _code(exc) == -4015
    venue.ex.cancel_order(venue.a, SYM, client_order_id="mm-1", now_ms=T0 + 20)
    assert venue.ex.get_order(venue.a, SYM, client_order_id="mm-1").status is SimOrderStatus.CANCELED
    again, _ = venue.place(Side.BUY, BID0, 100, client_order_id="mm-1")  # reusable once closed
    assert venue.ex.get_order(venue.a, SYM, client_order_id="mm-1").order_id == again.order_id


def test_cancel_and_unknown_codes(venue: Venue) -> None:
    view, _ = venue.place(Side.BUY, BID0 - 2, 100)
    cancelled, events = venue.ex.cancel_order(venue.a, SYM, order_id=view.order_id, now_ms=T0 + 20)
    assert cancelled.status is SimOrderStatus.CANCELED
    assert [e.exec_type for e in order_updates(events)] == [ExecType.CANCELED]
    assert venue.ex.depth(SYM, 5).bids[2] == (BID0 - 2, 1.0)
    with pytest.raises(SimError) as exc:
        venue.ex.cancel_order(venue.a, SYM, order_id=view.order_id, now_ms=T0 + 30)
    assert _code(exc) == -2011
    with pytest.raises(SimError) as exc:
        venue.ex.get_order(venue.a, SYM, order_id=12345)
    assert _code(exc) == -2013
    with pytest.raises(SimError) as exc:
        venue.ex.cancel_order(venue.b, SYM, order_id=view.order_id, now_ms=T0 + 30)  # not b's order
    assert _code(exc) == -2011
    with pytest.raises(SimError) as exc:
        venue.ex.depth("DOGEUSDC")
    assert _code(exc) == -1121


def test_modify_rules(venue: Venue) -> None:
    view, _ = venue.place(Side.BUY, BID0 - 1, 100, tif=TimeInForce.GTX)
    with pytest.raises(SimError) as exc:
        venue.ex.modify_order(
            venue.a, SYM, order_id=view.order_id, price_ticks=BID0 - 1, qty_steps=100, now_ms=T0 + 20
        )
    assert _code(exc) == -5027
    with pytest.raises(SimError) as exc:
        venue.ex.modify_order(venue.a, SYM, order_id=999, price_ticks=BID0, qty_steps=100, now_ms=T0 + 20)
    assert _code(exc) == -2013
    with pytest.raises(SimError) as exc:
        venue.ex.modify_order(
            venue.a, SYM, order_id=view.order_id, price_ticks=BID0, qty_steps=5, now_ms=T0 + 20
        )
    assert _code(exc) == -5029
    # a GTX amend that would cross is cancelled, not left unchanged
    amended, events = venue.ex.modify_order(
        venue.a, SYM, order_id=view.order_id, price_ticks=ASK0, qty_steps=100, now_ms=T0 + 30
    )
    assert amended.status is SimOrderStatus.CANCELED
    assert [e.exec_type for e in order_updates(events)] == [ExecType.CANCELED]
    market, _ = venue.place(Side.BUY, 0, 100, order_type=OrderType.MARKET)
    with pytest.raises(SimError) as exc:
        venue.ex.modify_order(
            venue.a, SYM, order_id=market.order_id, price_ticks=BID0, qty_steps=100, now_ms=T0 + 40
        )
    assert _code(exc) == -2013  # already final


def test_modify_qty_below_executed_cancels(venue: Venue) -> None:
    view, _ = venue.place(Side.BUY, BID0, 300)
    venue.ex.apply_market_trade(SYM, BID0, 1.2, Side.SELL, T0 + 20)  # 0.2 of ours filled
    amended, _ = venue.ex.modify_order(
        venue.a, SYM, order_id=view.order_id, price_ticks=BID0, qty_steps=200, now_ms=T0 + 30
    )
    assert amended.status is SimOrderStatus.CANCELED
    assert amended.executed_qty_steps == 200


def test_max_open_orders_2025(venue: Venue) -> None:
    for i in range(200):
        venue.place(Side.BUY, BID0 - 10 - i % 50, 10)
    with pytest.raises(SimError) as exc:
        venue.place(Side.BUY, BID0 - 10, 10)
    assert _code(exc) == -2025


def test_oldest_closed_orders_are_forgotten_beyond_the_cap(venue: Venue) -> None:
    acct = venue.ex._accounts[venue.a]
    acct.max_closed_orders = 3
    views = [venue.place(Side.BUY, BID0 - 3, 10)[0] for _ in range(5)]
    for v in views:
        venue.ex.cancel_order(venue.a, SYM, order_id=v.order_id, now_ms=T0 + 20)
    with pytest.raises(SimError) as exc:
        venue.ex.get_order(venue.a, SYM, order_id=views[1].order_id)
    assert _code(exc) == -2013
    assert venue.ex.get_order(venue.a, SYM, order_id=views[2].order_id).status is SimOrderStatus.CANCELED


def test_fok_trades_with_own_resting_order_despite_stp(venue: Venue) -> None:
    # Binance applies STP to IOC/GTC/GTD only: a FOK counts and takes the account's own orders
    venue.ex.apply_market_snapshot(SYM, [(BID0, 10.0)], [(ASK0 + 1, 0.010)], T0 + 5)
    own, _ = venue.place(Side.SELL, ASK0, 100, tif=TimeInForce.GTX)
    view, events = venue.place(Side.BUY, ASK0 + 1, 100, tif=TimeInForce.FOK, stp=StpMode.EXPIRE_TAKER)
    assert view.status is SimOrderStatus.FILLED and view.executed_qty_steps == 100
    assert venue.order(own).status is SimOrderStatus.FILLED
    fills = [e for e in order_updates(events) if e.exec_type is ExecType.TRADE]
    assert sorted((f.maker, f.last_qty_steps) for f in fills) == [(False, 100), (True, 100)]
    # beyond own + market size it is still rejected
    venue.place(Side.SELL, ASK0, 100, tif=TimeInForce.GTX)
    with pytest.raises(SimError) as exc:
        venue.place(Side.BUY, ASK0 + 1, 111, tif=TimeInForce.FOK, stp=StpMode.EXPIRE_BOTH)
    assert _code(exc) == -5021


def test_ioc_with_expire_taker_still_expires_at_own_order(venue: Venue) -> None:
    venue.ex.apply_market_snapshot(SYM, [(BID0, 10.0)], [(ASK0 + 1, 0.010)], T0 + 5)
    own, _ = venue.place(Side.SELL, ASK0, 100, tif=TimeInForce.GTX)
    view, _ = venue.place(Side.BUY, ASK0 + 1, 100, tif=TimeInForce.IOC, stp=StpMode.EXPIRE_TAKER)
    assert view.status is SimOrderStatus.EXPIRED_IN_MATCH and view.executed_qty_steps == 0
    assert venue.order(own).status is SimOrderStatus.NEW


def test_modify_limit_5026_after_10000_amendments(venue: Venue) -> None:
    view, _ = venue.place(Side.BUY, BID0 - 10, 10, tif=TimeInForce.GTX)
    for i in range(10_000):
        venue.ex.modify_order(venue.a, SYM, order_id=view.order_id, price_ticks=BID0 - 11 - i % 2,
                              qty_steps=10, now_ms=T0 + 20)  # fmt: skip
    with pytest.raises(SimError) as exc:
        venue.ex.modify_order(
            venue.a, SYM, order_id=view.order_id, price_ticks=BID0 - 20, qty_steps=10, now_ms=T0 + 30
        )
    assert _code(exc) == -5026
    after = venue.order(view)
    assert after.modify_count == 10_000 and after.price_ticks == BID0 - 12 and after.status.is_open
    venue.ex.cancel_order(venue.a, SYM, order_id=view.order_id, now_ms=T0 + 40)  # still cancellable
