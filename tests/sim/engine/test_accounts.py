"""Positions, realised PnL, fees, funding settlement, margin checks and the dead-man switch."""

from __future__ import annotations

import pytest

from phoenix.core.types import Side, TimeInForce
from phoenix.exchange.sim.sim_types import (
    FUNDING_INTERVAL_MS,
    AccountUpdatePublished,
    ExecType,
    FeeSchedule,
    SimError,
    SimOrderStatus,
)
from tests.sim.engine.conftest import ASK0, BID0, SYM, T0, Venue, make_venue, order_updates


def test_round_trip_realises_pnl_and_charges_fees() -> None:
    venue = make_venue(fees=FeeSchedule(maker_rate=-0.0001, taker_rate=0.0005))
    _buy, _ = venue.place(Side.BUY, ASK0, 1000, tif=TimeInForce.IOC)  # taker at 3000.01
    assert venue.ex.positions(venue.a)[0].entry_price == pytest.approx(3000.01)
    sell, _ = venue.place(Side.SELL, ASK0 + 10, 1000, tif=TimeInForce.GTX)  # rests at 3000.11
    venue.ex.apply_market_trade(SYM, ASK0 + 10, 2.0, Side.BUY, T0 + 50)  # maker fill
    assert venue.order(sell).status is SimOrderStatus.FILLED
    pos = venue.ex.positions(venue.a)[0]
    assert pos.qty_steps == 0
    assert pos.cum_realized_pnl_usdc == pytest.approx(0.10)
    taker_fee = 3000.01 * 0.0005
    maker_rebate = 3000.11 * 0.0001
    assert venue.ex.balance(venue.a).wallet_usdc == pytest.approx(100_000.0 + 0.10 - taker_fee + maker_rebate)
    kinds = sorted({i.income_type for i in venue.ex.income(venue.a)})
    assert kinds == ["COMMISSION", "REALIZED_PNL"]


def test_position_flip_opens_remainder_at_fill_price(venue: Venue) -> None:
    venue.place(Side.BUY, ASK0, 500, tif=TimeInForce.IOC)
    venue.place(Side.SELL, BID0, 800, tif=TimeInForce.IOC)
    pos = venue.ex.positions(venue.a)[0]
    assert pos.qty_steps == -300
    assert pos.entry_price == pytest.approx(3000.00)
    assert pos.cum_realized_pnl_usdc == pytest.approx(0.5 * (3000.00 - 3000.01))


def test_unrealised_pnl_follows_mark(venue: Venue) -> None:
    venue.place(Side.BUY, ASK0, 1000, tif=TimeInForce.IOC)
    venue.ex.apply_mark_price(SYM, 3010.01, 0.0001, T0 + FUNDING_INTERVAL_MS, T0 + 20)
    pos = venue.ex.positions(venue.a)[0]
    assert pos.unrealized_pnl_usdc == pytest.approx(10.0)
    assert pos.notional_usdc == pytest.approx(3010.01)
    assert venue.ex.balance(venue.a).unrealized_pnl_usdc == pytest.approx(10.0)


def test_funding_settles_position_times_mark_times_rate_every_8h(venue: Venue) -> None:
    venue.place(Side.BUY, ASK0, 30, tif=TimeInForce.IOC)  # long 0.030
    venue.place(Side.SELL, ASK0, 30, tif=TimeInForce.GTX, account=venue.b, now_ms=T0 + 11)  # rests
    venue.ex.apply_market_trade(SYM, ASK0, 5.0, Side.BUY, T0 + 12)  # b short 0.030
    funding_ms = T0 - T0 % FUNDING_INTERVAL_MS + FUNDING_INTERVAL_MS
    venue.ex.apply_mark_price(SYM, 2500.12, 0.0001, funding_ms, T0 + 20)
    wallet_a = venue.ex.balance(venue.a).wallet_usdc
    wallet_b = venue.ex.balance(venue.b).wallet_usdc
    assert venue.ex.advance(funding_ms - 1) == []
    events = venue.ex.advance(funding_ms)
    updates = [e for e in events if isinstance(e, AccountUpdatePublished)]
    assert {(u.account, u.reason) for u in updates} == {(venue.a, "FUNDING_FEE"), (venue.b, "FUNDING_FEE")}
    amount = 0.030 * 2500.12 * 0.0001  # the protocol doc's worked example: 0.00750036
    assert venue.ex.balance(venue.a).wallet_usdc == pytest.approx(wallet_a - amount, abs=1e-9)
    assert venue.ex.balance(venue.b).wallet_usdc == pytest.approx(wallet_b + amount, abs=1e-9)
    paid = next(u for u in updates if u.account == venue.a)
    assert paid.balance_change_usdc == pytest.approx(-0.00750036, abs=1e-12)
    assert paid.positions == ()
    assert venue.ex.funding_history(SYM)[-1].funding_time_ms == funding_ms
    assert [i.income_usdc for i in venue.ex.income(venue.a) if i.income_type == "FUNDING_FEE"] == [
        pytest.approx(-amount)
    ]
    # next settlement 8 h later, also when the mark price feed keeps the same schedule field
    assert venue.ex.market(SYM).next_funding_ms == funding_ms + FUNDING_INTERVAL_MS
    assert venue.ex.advance(funding_ms + FUNDING_INTERVAL_MS - 1) == []
    assert len(venue.ex.advance(funding_ms + FUNDING_INTERVAL_MS)) == 2


def test_funding_is_settled_by_a_mark_price_update_past_the_funding_time(venue: Venue) -> None:
    venue.place(Side.SELL, BID0, 100, tif=TimeInForce.IOC)  # short 0.1
    venue.ex.apply_mark_price(SYM, 3000.0, -0.0002, T0 + 1000, T0 + 20)
    events = venue.ex.apply_mark_price(SYM, 3001.0, 0.0001, T0 + 1000 + FUNDING_INTERVAL_MS, T0 + 1001)
    fee = [e for e in events if isinstance(e, AccountUpdatePublished)]
    assert len(fee) == 1
    assert fee[0].balance_change_usdc == pytest.approx(0.1 * 3000.0 * -0.0002)  # shorts pay when negative


def test_margin_insufficient_2019() -> None:
    venue = make_venue()
    poor = venue.ex.add_account("key-poor", 10.0)  # 10 USDC × 20x = 200 USDC of notional
    venue.place(Side.BUY, BID0 - 1, 60, account=poor)  # 180 USDC: fits
    with pytest.raises(SimError) as exc:
        venue.place(Side.BUY, BID0 - 1, 10, account=poor)  # 210 USDC > 200
    assert exc.value.code == -2019
    assert venue.ex.balance(poor).open_order_initial_margin_usdc == pytest.approx(2999.99 * 0.06 / 20)
    venue.ex.set_leverage(poor, SYM, 50, T0 + 30)
    venue.place(Side.BUY, BID0 - 1, 10, account=poor, now_ms=T0 + 40)
    with pytest.raises(SimError) as exc:
        venue.ex.set_leverage(poor, SYM, 500, T0 + 50)
    assert exc.value.code == -4028


def test_countdown_cancel_all_fires_when_not_renewed(venue: Venue) -> None:
    o1, _ = venue.place(Side.BUY, BID0 - 1, 100)
    o2, _ = venue.place(Side.SELL, ASK0 + 1, 100)
    venue.ex.set_countdown_cancel_all(venue.a, SYM, 120_000, T0 + 100)
    assert venue.ex.advance(T0 + 60_000) == []
    venue.ex.set_countdown_cancel_all(venue.a, SYM, 120_000, T0 + 60_000)  # renewed: new deadline
    assert venue.ex.advance(T0 + 120_100) == []
    events = venue.ex.advance(T0 + 180_000)
    cancels = [e for e in order_updates(events) if e.exec_type is ExecType.CANCELED]
    assert {c.order.order_id for c in cancels} == {o1.order_id, o2.order_id}
    assert venue.ex.open_orders(venue.a) == []
    assert venue.ex.depth(SYM, 5).bids[1] == (BID0 - 1, 1.0)  # our size left the published book
    assert venue.ex.advance(T0 + 400_000) == []  # fired once


def test_countdown_zero_disarms_and_other_accounts_untouched(venue: Venue) -> None:
    mine, _ = venue.place(Side.BUY, BID0 - 1, 100)
    theirs, _ = venue.place(Side.BUY, BID0 - 1, 100, account=venue.b)
    venue.ex.set_countdown_cancel_all(venue.b, SYM, 1_000, T0 + 100)
    venue.ex.set_countdown_cancel_all(venue.a, SYM, 1_000, T0 + 100)
    venue.ex.set_countdown_cancel_all(venue.a, SYM, 0, T0 + 200)
    venue.ex.advance(T0 + 5_000)
    assert venue.order(mine).status is SimOrderStatus.NEW
    assert venue.order(theirs, venue.b).status is SimOrderStatus.CANCELED


def test_countdown_fires_on_the_next_call_of_any_kind(venue: Venue) -> None:
    mine, _ = venue.place(Side.BUY, BID0 - 1, 100)
    venue.ex.set_countdown_cancel_all(venue.a, SYM, 1_000, T0 + 100)
    events = venue.ex.apply_market_delta(SYM, [(BID0 - 4, 2.0)], [], T0 + 2_000)
    assert any(e.exec_type is ExecType.CANCELED for e in order_updates(events))
    assert venue.order(mine).status is SimOrderStatus.CANCELED


def test_stale_funding_time_from_the_feed_does_not_settle_twice(venue: Venue) -> None:
    venue.place(Side.BUY, ASK0, 100, tif=TimeInForce.IOC)
    funding_ms = T0 + 1_000
    venue.ex.apply_mark_price(SYM, 3000.0, 0.0001, funding_ms, T0 + 20)
    first = venue.ex.apply_mark_price(SYM, 3000.0, 0.0001, funding_ms, funding_ms + 1)  # feed not yet rolled
    second = venue.ex.apply_mark_price(SYM, 3000.0, 0.0001, funding_ms, funding_ms + 1_001)
    assert len([e for e in first if isinstance(e, AccountUpdatePublished)]) == 1
    assert [e for e in second if isinstance(e, AccountUpdatePublished)] == []
    assert len(venue.ex.funding_history(SYM)) == 1
    assert venue.ex.market(SYM).next_funding_ms == funding_ms + FUNDING_INTERVAL_MS


def test_timer_events_survive_a_rejected_call(venue: Venue) -> None:
    mine, _ = venue.place(Side.BUY, BID0 - 1, 100)
    venue.ex.set_countdown_cancel_all(venue.a, SYM, 1_000, T0 + 100)
    with pytest.raises(SimError):
        venue.place(
            Side.BUY, ASK0, 100, tif=TimeInForce.GTX, now_ms=T0 + 2_000
        )  # fires the timer, then -5022
    assert venue.order(mine).status is SimOrderStatus.CANCELED
    events = venue.ex.advance(T0 + 2_001)
    assert [e.order.order_id for e in order_updates(events) if e.exec_type is ExecType.CANCELED] == [
        mine.order_id
    ]
    assert venue.ex.advance(T0 + 2_002) == []
