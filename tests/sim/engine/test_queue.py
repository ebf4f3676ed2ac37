"""Queue position: price-time priority, behind displayed size, advance on trades/cancels, modify reset."""

from __future__ import annotations

import pytest

from phoenix.core.types import Side, TimeInForce
from phoenix.exchange.sim.sim_types import DepthDiffPublished, ExecType, OrderRequest, SimOrderStatus
from tests.sim.engine.conftest import BID0, SYM, T0, Venue, make_venue, order_updates


def test_resting_order_queues_behind_displayed_size_and_fills_after_it(venue: Venue) -> None:
    view, _ = venue.place(Side.BUY, BID0, 100, tif=TimeInForce.GTX)  # 0.100 behind 1.0 displayed
    assert venue.ex.queue_ahead(venue.a, SYM, order_id=view.order_id) == pytest.approx(1.0)
    events = venue.ex.apply_market_trade(SYM, BID0, 0.6, Side.SELL, T0 + 20)
    assert order_updates(events) == []
    assert venue.ex.queue_ahead(venue.a, SYM, order_id=view.order_id) == pytest.approx(0.4)
    assert venue.order(view).executed_qty_steps == 0
    events = venue.ex.apply_market_trade(SYM, BID0, 0.45, Side.SELL, T0 + 30)  # 0.4 ahead left, 0.05 to us
    fills = [e for e in order_updates(events) if e.exec_type is ExecType.TRADE]
    assert [(f.last_qty_steps, f.maker, f.last_price_ticks) for f in fills] == [(50, True, BID0)]
    assert venue.order(view).status is SimOrderStatus.PARTIALLY_FILLED
    venue.ex.apply_market_trade(SYM, BID0, 0.05, Side.SELL, T0 + 40)
    assert venue.order(view).status is SimOrderStatus.FILLED


def test_trade_through_our_price_fills_us_completely(venue: Venue) -> None:
    view, _ = venue.place(Side.BUY, BID0, 100)
    venue.ex.apply_market_trade(SYM, BID0 - 2, 0.001, Side.SELL, T0 + 20)
    assert venue.order(view).status is SimOrderStatus.FILLED
    assert venue.ex.positions(venue.a)[0].qty_steps == 100


def test_trade_on_other_side_or_worse_price_does_not_fill(venue: Venue) -> None:
    view, _ = venue.place(Side.BUY, BID0 - 1, 100)
    venue.ex.apply_market_trade(SYM, BID0, 5.0, Side.SELL, T0 + 20)  # above our bid: not reached
    venue.ex.apply_market_trade(SYM, BID0 + 1, 5.0, Side.BUY, T0 + 21)  # buy aggressor hits asks
    assert venue.order(view).executed_qty_steps == 0


def test_size_cancelled_ahead_advances_queue(venue: Venue) -> None:
    _view, _ = venue.place(Side.BUY, BID0, 100)
    venue.ex.apply_market_delta(SYM, [(BID0, 0.3)], [], T0 + 20)  # 0.7 cancelled: at most 0.3 ahead now
    events = venue.ex.apply_market_trade(SYM, BID0, 0.35, Side.SELL, T0 + 30)
    fills = [e for e in order_updates(events) if e.exec_type is ExecType.TRADE]
    assert [f.last_qty_steps for f in fills] == [50]


def test_size_added_behind_does_not_move_us_back(venue: Venue) -> None:
    view, _ = venue.place(Side.BUY, BID0, 100)
    venue.ex.apply_market_delta(SYM, [(BID0, 5.0)], [], T0 + 20)
    venue.ex.apply_market_trade(SYM, BID0, 1.1, Side.SELL, T0 + 30)
    assert venue.order(view).status is SimOrderStatus.FILLED


def test_proportional_model_spreads_cancels_ahead_and_behind() -> None:
    venue = make_venue(queue_model="proportional")
    view, _ = venue.place(Side.BUY, BID0, 100)
    venue.ex.apply_market_delta(SYM, [(BID0, 0.5)], [], T0 + 20)  # half the level cancelled: ahead 0.5
    venue.ex.apply_market_trade(SYM, BID0, 0.49, Side.SELL, T0 + 30)
    assert venue.order(view).executed_qty_steps == 0
    venue.ex.apply_market_trade(SYM, BID0, 0.02, Side.SELL, T0 + 31)
    assert venue.order(view).executed_qty_steps == 10


def test_proportional_model_does_not_count_a_trade_twice() -> None:
    # a print advances the queue; the feed's next change at that price is the same volume leaving
    venue = make_venue(queue_model="proportional")
    view, _ = venue.place(Side.BUY, BID0, 100)  # 1.0 ahead
    venue.ex.apply_market_trade(SYM, BID0, 0.4, Side.SELL, T0 + 20)
    assert venue.ex.queue_ahead(venue.a, SYM, order_id=view.order_id) == pytest.approx(0.6)
    venue.ex.apply_market_delta(SYM, [(BID0, 0.6)], [], T0 + 21)  # 1.0 → 0.6: explained by the print
    assert venue.ex.queue_ahead(venue.a, SYM, order_id=view.order_id) == pytest.approx(0.6)
    venue.ex.apply_market_delta(SYM, [(BID0, 0.3)], [], T0 + 22)  # now a real cancel: half the level
    assert venue.ex.queue_ahead(venue.a, SYM, order_id=view.order_id) == pytest.approx(0.3)


def test_proportional_model_spreads_only_the_unexplained_part_of_a_shrink() -> None:
    venue = make_venue(queue_model="proportional")
    view, _ = venue.place(Side.BUY, BID0, 100)  # 1.0 ahead
    venue.ex.apply_market_trade(SYM, BID0, 0.2, Side.SELL, T0 + 20)  # ahead 0.8
    venue.ex.apply_market_delta(SYM, [(BID0, 0.4)], [], T0 + 21)  # 0.2 traded + 0.4 cancelled of 0.8
    assert venue.ex.queue_ahead(venue.a, SYM, order_id=view.order_id) == pytest.approx(0.8 * 0.4 / 0.8)


def test_price_time_priority_between_participants(venue: Venue) -> None:
    first, _ = venue.place(Side.BUY, BID0, 100, account=venue.a)
    second, _ = venue.place(Side.BUY, BID0, 100, account=venue.b)
    better, _ = venue.place(Side.BUY, BID0 - 1, 100, account=venue.b)
    # a taker sell of 1.0 (displayed) + 0.15: market first, then `first` fully, then 0.05 of `second`
    c = venue.ex.add_account("key-c", 100_000.0)
    taker, _ = venue.place(Side.SELL, BID0, 1150, tif=TimeInForce.IOC, account=c, now_ms=T0 + 30)
    assert venue.order(first, venue.a).status is SimOrderStatus.FILLED
    assert venue.order(second, venue.b).executed_qty_steps == 50
    assert venue.order(better, venue.b).executed_qty_steps == 0
    assert taker.executed_qty_steps == 1150


def test_taker_sweeps_levels_best_price_first(venue: Venue) -> None:
    view, events = venue.place(Side.BUY, BID0 + 3, 2500, tif=TimeInForce.IOC)
    fills = [e for e in order_updates(events) if e.exec_type is ExecType.TRADE]
    assert [(f.last_price_ticks, f.last_qty_steps) for f in fills] == [
        (BID0 + 1, 1000),
        (BID0 + 2, 1000),
        (BID0 + 3, 500),
    ]
    assert view.status is SimOrderStatus.FILLED
    assert not any(f.maker for f in fills)
    depth = venue.ex.depth(SYM, 5)
    assert depth.asks[0] == (BID0 + 3, 0.5)


def test_modify_resets_queue_position(venue: Venue) -> None:
    view, _ = venue.place(Side.BUY, BID0, 100)
    venue.ex.apply_market_trade(SYM, BID0, 0.9, Side.SELL, T0 + 20)  # 0.1 ahead left
    _, events = venue.ex.modify_order(
        venue.a, SYM, order_id=view.order_id, price_ticks=BID0, qty_steps=90, now_ms=T0 + 30
    )
    assert [e.exec_type for e in order_updates(events)] == [ExecType.AMENDMENT]
    # back of the queue: the whole displayed market size (1.0) is ahead again
    venue.ex.apply_market_trade(SYM, BID0, 0.5, Side.SELL, T0 + 40)
    assert venue.order(view).executed_qty_steps == 0
    venue.ex.apply_market_trade(SYM, BID0, 0.55, Side.SELL, T0 + 50)
    assert venue.order(view).executed_qty_steps == 50
    assert venue.order(view).modify_count == 1


def test_market_moving_through_resting_order_fills_it(venue: Venue) -> None:
    view, _ = venue.place(Side.SELL, BID0 + 3, 100)
    events = venue.ex.apply_market_delta(SYM, [(BID0 + 3, 2.0)], [(BID0 + 1, 0.0)], T0 + 20)
    assert venue.order(view).status is SimOrderStatus.FILLED
    fills = [e for e in order_updates(events) if e.exec_type is ExecType.TRADE]
    assert fills and fills[0].maker and fills[0].last_price_ticks == BID0 + 3


def test_snapshot_keeps_queue_but_clamps_it_to_the_new_level(venue: Venue) -> None:
    view, _ = venue.place(Side.BUY, BID0, 100)
    venue.ex.apply_market_snapshot(SYM, [(BID0, 0.4), (BID0 - 1, 3.0)], [(BID0 + 1, 1.0)], T0 + 20)
    venue.ex.apply_market_trade(SYM, BID0, 0.39, Side.SELL, T0 + 30)
    assert venue.order(view).executed_qty_steps == 0
    venue.ex.apply_market_trade(SYM, BID0, 0.06, Side.SELL, T0 + 40)
    assert venue.order(view).executed_qty_steps == 50
    assert venue.ex.depth(SYM, 1).bids == ((BID0, pytest.approx(0.45)),)


def test_own_orders_can_be_hidden_from_the_published_book() -> None:
    from phoenix.exchange.sim.engine import SimExchange
    from phoenix.exchange.sim.symbols import default_filters

    ex = SimExchange(default_filters([SYM]), include_own_orders_in_book=False)
    acct = ex.add_account("k", 1e6)
    ex.apply_market_snapshot(SYM, [(BID0, 1.0)], [(BID0 + 1, 1.0)], T0)
    before = ex.depth(SYM, 5)
    req = OrderRequest(
        symbol=SYM, side=Side.BUY, qty_steps=100, price_ticks=BID0, time_in_force=TimeInForce.GTX
    )
    view, events = ex.place_order(acct, req, T0 + 10)
    assert not [e for e in events if isinstance(e, DepthDiffPublished)]
    assert ex.depth(SYM, 5) == before
    ex.apply_market_trade(SYM, BID0, 1.1, Side.SELL, T0 + 20)
    assert ex.get_order(acct, SYM, order_id=view.order_id).status is SimOrderStatus.FILLED


def test_emit_public_false_keeps_ids_and_private_events() -> None:
    from phoenix.exchange.sim.engine import SimExchange
    from phoenix.exchange.sim.symbols import default_filters

    ex = SimExchange(default_filters([SYM]), emit_public=False)
    acct = ex.add_account("k", 1e6)
    assert ex.apply_market_snapshot(SYM, [(BID0, 1.0)], [(BID0 + 1, 1.0)], T0) == []
    req = OrderRequest(
        symbol=SYM, side=Side.BUY, qty_steps=100, price_ticks=BID0 + 1, time_in_force=TimeInForce.IOC
    )
    _, events = ex.place_order(acct, req, T0 + 10)
    assert [type(e).__name__ for e in events] == [
        "OrderUpdatePublished",
        "OrderUpdatePublished",
        "AccountUpdatePublished",
    ]
    assert ex.depth(SYM, 1).last_update_id == 3  # 2 snapshot levels + the consumed ask


def test_modified_gtc_that_crosses_trades(venue: Venue) -> None:
    view, _ = venue.place(Side.BUY, BID0 - 1, 500)
    amended, events = venue.ex.modify_order(
        venue.a, SYM, order_id=view.order_id, price_ticks=BID0 + 1, qty_steps=500, now_ms=T0 + 20
    )
    assert [e.exec_type for e in order_updates(events)] == [ExecType.AMENDMENT, ExecType.TRADE]
    assert amended.status is SimOrderStatus.FILLED
    assert amended.avg_price == pytest.approx(3000.01)
