"""The Trader never raises on any sequence of plausible (even contradictory) events, keeps its limits, and
skipping unchanged requotes never changes what it sends."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from phoenix.core.types import (
    BalanceUpdated,
    Event,
    Fill,
    MarketDataStatus,
    MarkPriceUpdated,
    OrderFilled,
    OrderStatus,
    OrderUpdated,
    PlaceOrder,
    PositionSynced,
    Side,
    TimerFired,
    TopOfBook,
)
from phoenix.trader.trader import Trader
from tests.trader.support import T0, eth_filters, make_config

MS = 1_000_000
BID = 280_000

kinds = st.sampled_from(
    ["book", "timer", "ack", "update", "fill", "mark", "balance", "sync", "status", "halt"]
)
statuses = st.sampled_from(list(OrderStatus))
codes = st.sampled_from([None, -2011, -2013, -5022, -1003, -4164])


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(kinds, st.integers(0, 10_000), statuses, codes, st.integers(-300, 300)), max_size=80)
)
def test_any_event_sequence_is_handled_without_raising(
    ops: list[tuple[str, int, OrderStatus, int | None, int]],
) -> None:
    t = Trader(make_config(net_max=0.3), {"ETHUSDC": eth_filters()}, wallet_usdc=5_000.0, id_seed_ms=T0 // MS)
    # a twin that never skips an unchanged requote must send exactly the same actions
    twin = Trader(
        make_config(net_max=0.3),
        {"ETHUSDC": eth_filters()},
        wallet_usdc=5_000.0,
        id_seed_ms=T0 // MS,
        skip_unchanged=False,
    )
    now = T0
    bid = BID
    sent: list[PlaceOrder] = []
    trade = 0
    t.on_event(MarketDataStatus(symbol="ETHUSDC", ts_ns=now, in_sync=True))
    twin.on_event(MarketDataStatus(symbol="ETHUSDC", ts_ns=now, in_sync=True))
    for kind, k, status, code, move in ops:
        now += 137 * MS
        ev: Event
        if kind == "book":
            bid += move
            ev = TopOfBook(
                symbol="ETHUSDC", ts_ns=now, bid_ticks=bid, bid_qty=1.0, ask_ticks=bid + 1, ask_qty=1.0
            )
        elif kind == "timer":
            ev = TimerFired(ts_ns=now)
        elif kind in ("ack", "update") and sent:
            a = sent[k % len(sent)]
            st_ = OrderStatus.NEW if kind == "ack" else status
            ev = OrderUpdated(
                symbol="ETHUSDC",
                ts_ns=now,
                client_order_id=a.client_order_id,
                status=st_,
                side=a.side,
                price_ticks=a.price_ticks,
                qty_steps=a.qty_steps,
                filled_steps=k % (a.qty_steps + 1),
                error_code=code,
            )
        elif kind == "fill" and sent:
            a = sent[k % len(sent)]
            trade += 1
            ev = OrderFilled(
                fill=Fill(
                    symbol="ETHUSDC",
                    client_order_id=a.client_order_id,
                    trade_id=trade,
                    side=a.side,
                    price_ticks=a.price_ticks,
                    qty_steps=1 + k % a.qty_steps,
                    maker=True,
                    fee_usdc=0.0,
                    realized_pnl_usdc=0.0,
                    ts_ns=now,
                ),
                ts_ns=now,
            )
        elif kind == "mark":
            ev = MarkPriceUpdated(
                symbol="ETHUSDC", ts_ns=now, mark_price=(bid + move * 10) / 100, funding_rate=1e-4
            )
        elif kind == "balance":
            ev = BalanceUpdated(ts_ns=now, wallet_usdc=5_000.0 - k / 10)
        elif kind == "sync":
            ev = PositionSynced(symbol="ETHUSDC", ts_ns=now, qty_steps=move, entry_price=bid / 100)
        elif kind == "status":
            ev = MarketDataStatus(symbol="ETHUSDC", ts_ns=now, in_sync=k % 3 != 0)
        elif kind == "halt":
            d = t.halt("ETHUSDC", "fuzz", now) if k % 2 else t.resume(None, now)
            d2 = twin.halt("ETHUSDC", "fuzz", now) if k % 2 else twin.resume(None, now)
            assert d.actions == d2.actions
            sent.extend(a for a in d.actions if isinstance(a, PlaceOrder))
            continue
        else:
            continue
        d = t.on_event(ev)
        assert d.actions == twin.on_event(ev).actions
        sent.extend(a for a in d.actions if isinstance(a, PlaceOrder))
        # whatever happened, the trader never adds exposure beyond net_max on its own
        for a in d.actions:
            if isinstance(a, PlaceOrder) and not a.reduce_only and a.layer != 1000:
                s = t.store.symbols["ETHUSDC"]
                worst = s.worst_case_long_steps() if a.side is Side.BUY else s.worst_case_short_steps()
                assert worst <= max(s.net_max_steps(), abs(s.position.qty_steps))
