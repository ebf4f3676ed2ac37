"""Own-order outcomes through the Trader: UNKNOWN is never guessed, rejections are counted, ids are ours."""

from __future__ import annotations

from phoenix.core.types import ModifyOrder, OrderStatus, OrderUpdated, PlaceOrder, PositionSynced, Side
from phoenix.execution.ids import parse_client_order_id
from phoenix.trader.reports import OrderRejected
from phoenix.trader.trader import Trader
from tests.trader.support import T0, Venue, eth_filters, make_config

MS = 1_000_000
BID = 280_000


def answer(a: PlaceOrder, status: OrderStatus, ts: int, code: int | None = None) -> OrderUpdated:
    return OrderUpdated(
        symbol=a.symbol,
        ts_ns=ts,
        client_order_id=a.client_order_id,
        status=status,
        side=a.side,
        price_ticks=a.price_ticks,
        qty_steps=a.qty_steps,
        error_code=code,
    )


def test_timed_out_place_stays_live_until_resolved_and_is_not_sent_twice() -> None:
    t = Trader(make_config(), {"ETHUSDC": eth_filters()}, wallet_usdc=1e6, id_seed_ms=T0 // MS)
    v = Venue(t, auto_ack=False)
    d = v.start("ETHUSDC", BID)
    places = [a for a in d.actions if isinstance(a, PlaceOrder)]
    assert len(places) == 48
    assert all(parse_client_order_id(a.client_order_id) is not None for a in places)
    v.pending.clear()  # the driver timed out on every request
    for a in places:
        t.on_event(answer(a, OrderStatus.UNKNOWN, T0 + 5 * MS))
    st_ = t.store.symbols["ETHUSDC"]
    assert st_.pending_buy_steps == sum(a.qty_steps for a in places if a.side is Side.BUY)
    again = v.book("ETHUSDC", BID, T0 + 300 * MS)
    assert not [a for a in again.actions if isinstance(a, PlaceOrder)]  # unknown ≠ rejected: no duplicates
    # the query says the near bid never reached the exchange: it is replaced at the next requote
    near = next(a for a in places if a.side is Side.BUY and a.layer == 0)
    d = t.on_event(answer(near, OrderStatus.REJECTED, T0 + 400 * MS, code=-2013))
    assert [r.error_code for r in d.reports if isinstance(r, OrderRejected)] == [-2013]
    replaced = v.book("ETHUSDC", BID, T0 + 700 * MS)
    new = [a for a in replaced.actions if isinstance(a, PlaceOrder)]
    assert [(a.side, a.layer) for a in new] == [(Side.BUY, 0)]
    assert new[0].client_order_id != near.client_order_id


def test_post_only_rejection_backs_that_side_off_the_touch_for_a_while() -> None:
    t = Trader(make_config(), {"ETHUSDC": eth_filters()}, wallet_usdc=1e6, id_seed_ms=T0 // MS)
    v = Venue(t, auto_ack=False)
    v.start("ETHUSDC", BID)
    v.flush()  # the ladder is acknowledged
    # long 1.5 of net_max 2.0 (> 70 %): the reducing ask is pinned to the touch
    d = v.send(PositionSynced(symbol="ETHUSDC", ts_ns=T0 + MS, qty_steps=1500, entry_price=2800.0))
    pinned = [
        a
        for a in d.actions
        if isinstance(a, PlaceOrder | ModifyOrder) and a.side is Side.SELL and a.price_ticks == BID + 1
    ]
    assert len(pinned) == 1
    v.pending.clear()
    for a in v.actions:
        if isinstance(a, PlaceOrder) and a.client_order_id != pinned[0].client_order_id:
            t.on_event(answer(a, OrderStatus.NEW, T0 + 2 * MS))
    # the exchange's bid had already moved up to our ask: -5022, post-only would have crossed
    p = pinned[0]
    r = t.on_event(
        OrderUpdated(
            symbol="ETHUSDC",
            ts_ns=T0 + 3 * MS,
            client_order_id=p.client_order_id,
            status=OrderStatus.REJECTED,
            side=p.side,
            price_ticks=p.price_ticks,
            qty_steps=p.qty_steps,
            error_code=-5022,
        )
    )
    assert [x.error_code for x in r.reports if isinstance(x, OrderRejected)] == [-5022]
    after = v.book("ETHUSDC", BID, T0 + 300 * MS)
    asks = [a for a in after.actions if isinstance(a, PlaceOrder | ModifyOrder) and a.side is Side.SELL]
    assert asks and min(a.price_ticks for a in asks) == BID + 2  # one tick off the touch
    # the back-off expires: the pinned ask joins the touch again (here after the market moved 3 ticks)
    v.flush()
    later = v.book("ETHUSDC", BID - 3, T0 + 2000 * MS)
    assert any(isinstance(a, PlaceOrder | ModifyOrder) and a.price_ticks == BID - 2 for a in later.actions)
