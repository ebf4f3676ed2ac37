"""Internal invariants of the engine under random load (participants' size, queues, notional, wallet)."""

from __future__ import annotations

import pytest

from phoenix.exchange.sim.matching import ASK, BID, QTY_EPS
from tests.sim.engine.test_book_sync import SYM, RandomMarket


def _check(market: RandomMarket) -> None:
    ex = market.ex
    m = ex._markets[SYM]  # white-box: the engine's own bookkeeping must agree with itself
    book = m.book
    for si in (BID, ASK):
        for price, orders in book.own[si].items():
            assert orders, "empty level left behind"
            assert book.own_steps[si][price] == sum(o.remaining_steps for o in orders)
            market_qty = book.mkt[si].get(price, 0.0)
            prev = 0.0
            for o in orders:
                assert o.resting and o.status.is_open and o.price_ticks == price and o.side_idx == si
                assert (
                    prev - QTY_EPS <= o.queue_ahead <= market_qty + QTY_EPS
                )  # FIFO, behind market size only
                prev = o.queue_ahead
        assert set(book.own_steps[si]) == set(book.own[si])
    for acct_id in market.accounts:
        acct = ex._accounts[acct_id]
        so = acct.open.get(SYM)
        open_orders = list(so.by_client_id.values()) if so is not None else []
        assert all(o.resting for o in open_orders)
        bid_n = sum(
            o.price_ticks * m.tick * o.remaining_steps * m.step for o in open_orders if o.side_idx == BID
        )
        ask_n = sum(
            o.price_ticks * m.tick * o.remaining_steps * m.step for o in open_orders if o.side_idx == ASK
        )
        assert so is None or so.bid_notional_usdc == pytest.approx(bid_n, abs=1e-6)
        assert so is None or so.ask_notional_usdc == pytest.approx(ask_n, abs=1e-6)
        # wallet = start + realised PnL − commissions (+ funding, none here)
        trades = ex.user_trades(acct_id, SYM)
        expected = 1e9 + sum(t.realized_pnl_usdc - t.commission_usdc for t in trades)
        assert ex.balance(acct_id).wallet_usdc == pytest.approx(expected, rel=1e-12, abs=1e-6)
        # position = signed sum of fills
        net = sum(t.qty_steps if t.side.value == "BUY" else -t.qty_steps for t in trades)
        assert ex.positions(acct_id)[0].qty_steps == net
    resting = {(o.order_id) for si in (BID, ASK) for orders in book.own[si].values() for o in orders}
    listed = {o.order_id for a in market.accounts for o in ex.open_orders(a, SYM)}
    assert resting == listed


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_invariants_hold_under_random_load(seed: int) -> None:
    market = RandomMarket(seed=seed)
    for i in range(3_000):
        market.step()
        if i % 50 == 0:
            _check(market)
    _check(market)
    assert market.ex.user_trades(market.accounts[0], SYM)
