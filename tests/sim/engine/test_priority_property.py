"""Property: fills never skip an order with better price, or the same price and earlier arrival."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from phoenix.core.types import Side, TimeInForce
from phoenix.exchange.sim.sim_types import OrderView, SimOrderStatus
from tests.sim.engine.conftest import BID0, SYM, T0, make_venue

orders_st = st.lists(st.tuples(st.integers(0, 2), st.integers(7, 400)), min_size=2, max_size=12)
flow_st = st.lists(
    st.tuples(st.booleans(), st.integers(0, 2), st.integers(7, 3000)), min_size=1, max_size=10
)  # (taker order? else feed trade, price offset, qty steps)


@settings(max_examples=60, deadline=None)
@given(resting=orders_st, flow=flow_st, level_qty=st.integers(0, 1500))
def test_fills_respect_price_time_priority(
    resting: list[tuple[int, int]], flow: list[tuple[bool, int, int]], level_qty: int
) -> None:
    venue = make_venue()
    ex = venue.ex
    ex.apply_market_snapshot(SYM, [(BID0 - i, level_qty / 1000) for i in range(3)], [(BID0 + 1, 5.0)], T0 + 1)
    makers = [ex.add_account(f"m{i}", 1e9) for i in range(len(resting))]  # one account each: no STP
    taker = ex.add_account("taker", 1e9)
    placed: list[tuple[int, int, OrderView]] = []  # (price, arrival, view)
    for arrival, ((offset, qty), acct) in enumerate(zip(resting, makers, strict=True)):
        view, _ = venue.place(Side.BUY, BID0 - offset, qty, account=acct, tif=TimeInForce.GTX, now_ms=T0 + 2)
        placed.append((BID0 - offset, arrival, view))
    now = T0 + 10
    for is_order, offset, qty in flow:
        now += 1
        if is_order:
            venue.place(Side.SELL, BID0 - offset, qty, account=taker, tif=TimeInForce.IOC, now_ms=now)
        else:
            ex.apply_market_trade(SYM, BID0 - offset, qty / 1000, Side.SELL, now)
        state = [(price, arrival, ex.get_order(acct, SYM, order_id=v.order_id))
                 for (price, arrival, v), acct in zip(placed, makers, strict=True)]  # fmt: skip
        for p1, a1, o1 in state:
            for p2, a2, o2 in state:
                ahead = p1 > p2 or (p1 == p2 and a1 < a2)
                if ahead and o2.executed_qty_steps > 0:
                    assert o1.status is SimOrderStatus.FILLED, (o1, o2)
