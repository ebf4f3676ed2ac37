"""Trader scenarios on realistic ETHUSDC numbers: net_max, pause, global cap, stop-loss, fail closed."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from phoenix.core.types import (
    CancelAll,
    CancelOrder,
    Fill,
    Flatten,
    MarketDataStatus,
    MarkPriceUpdated,
    OrderFilled,
    PlaceOrder,
    PositionSynced,
    Side,
)
from phoenix.risk.guard import TradingState
from phoenix.risk.pretrade import TrimReason
from phoenix.trader.reports import (
    GlobalCapChanged,
    QuotesCancelled,
    QuotesComputed,
    QuotesTrimmed,
    StateChanged,
    StopLossFired,
)
from phoenix.trader.trader import Decision, Trader
from tests.trader.support import NS, T0, Venue, eth_filters, make_config

BID = 280_000  # ETHUSDC 2800.00
MS = 1_000_000


def trader(
    symbols: tuple[str, ...] = ("ETHUSDC",),
    wallet: float = 100_000.0,
    global_: dict | None = None,
    **sym: object,
) -> Trader:
    cfg = make_config(symbols, global_, **sym)
    return Trader(cfg, {s: eth_filters(s) for s in symbols}, wallet_usdc=wallet, id_seed_ms=T0 // MS)


def side_total(v: Venue, side: Side) -> int:
    return sum(o.qty_steps - v.filled[o.client_order_id] for o in v.resting("ETHUSDC", side))


def test_a_fill_delivered_only_by_the_user_stream_changes_the_position_risk_sees() -> None:
    t = trader(net_max=0.20)
    v = Venue(t)
    v.start("ETHUSDC", BID)
    bid = max(v.resting("ETHUSDC", Side.BUY), key=lambda o: o.price_ticks)
    v.fill(bid.client_order_id, bid.qty_steps, ts_ns=T0 + 10 * MS)
    st_ = t.store.symbols["ETHUSDC"]
    assert st_.position.qty_steps == bid.qty_steps
    # worst-case long never passes net_max: the bid ladder shrank by what was filled
    assert st_.position.qty_steps + side_total(v, Side.BUY) <= 200


def test_sweep_of_the_whole_bid_ladder_stops_at_net_max() -> None:
    t = trader(net_max=0.20)
    v = Venue(t)
    v.start("ETHUSDC", BID)
    now = T0
    for _ in range(30):  # the market keeps sweeping every bid we show, 30 times
        now += 250 * MS
        for o in list(v.resting("ETHUSDC", Side.BUY)):
            if o.client_order_id in v.orders:
                v.fill(o.client_order_id, o.qty_steps, ts_ns=now)
        v.book("ETHUSDC", BID, now)
        v.timer(now + MS)
        assert t.store.symbols["ETHUSDC"].position.qty_steps <= 200
    pos = t.store.symbols["ETHUSDC"].position.qty_steps
    assert 180 <= pos <= 200  # it stopped at net_max (within one min-notional clip)
    assert side_total(v, Side.BUY) <= 200 - pos
    assert side_total(v, Side.SELL) >= 1  # the reducing side is still quoted


def test_spec_fill_025_with_net_max_020_pauses_the_symbol_and_keeps_reducing() -> None:
    t = trader(net_max=0.20, halt_seconds=300)
    v = Venue(t)
    v.start("ETHUSDC", BID)
    bid = max(v.resting("ETHUSDC", Side.BUY), key=lambda o: o.price_ticks)
    fill = Fill(
        symbol="ETHUSDC",
        client_order_id=bid.client_order_id,
        trade_id=99,
        side=Side.BUY,
        price_ticks=bid.price_ticks,
        qty_steps=250,
        maker=True,
        fee_usdc=0.0,
        realized_pnl_usdc=0.0,
        ts_ns=T0 + 5 * MS,
    )
    # the exchange reports 0.25 filled on it (e.g. an order adopted after a restart)
    del v.orders[bid.client_order_id]
    d = v.send(OrderFilled(fill=fill, ts_ns=T0 + 5 * MS))
    assert t.trading_state("ETHUSDC") == TradingState.REDUCING_ONLY.value
    changes = [r for r in d.reports if isinstance(r, StateChanged)]
    assert changes and changes[0].reason == "net_max_breach" and changes[0].until_ns == T0 + 5 * MS + 300 * NS
    trims = [tr for r in d.reports if isinstance(r, QuotesTrimmed) for tr in r.trims]
    buy_trims = [tr for tr in trims if tr.side is Side.BUY]
    assert buy_trims and all(
        tr.to_qty_steps == 0 and tr.reason is TrimReason.REDUCING_ONLY for tr in buy_trims
    )
    # asks are cut only beyond the 0.25 that would flatten us (more would open a short): layer 0 stays
    assert all(tr.layer > 0 for tr in trims if tr.side is Side.SELL)
    v.flush()
    assert side_total(v, Side.BUY) == 0  # no new exposure
    asks = side_total(v, Side.SELL)
    assert 1 <= asks <= 250  # reductions allowed, never flipping short
    # still paused before halt_seconds even once back within the limit ...
    v.send(PositionSynced(symbol="ETHUSDC", ts_ns=T0 + 10 * NS, qty_steps=150, entry_price=2800.0))
    v.book("ETHUSDC", BID, T0 + 299 * NS)
    v.timer(T0 + 299 * NS)
    assert t.trading_state("ETHUSDC") == "reducing_only"
    # ... and active again after it
    v.book("ETHUSDC", BID, T0 + 306 * NS)
    v.timer(T0 + 306 * NS)
    assert t.trading_state("ETHUSDC") == "active"
    assert side_total(v, Side.BUY) > 0


def test_global_cap_breach_stops_every_symbol_adding() -> None:
    t = trader(("ETHUSDC", "SOLUSDC"), global_={"total_notional_max": 5000.0})
    v = Venue(t)
    v.start("ETHUSDC", BID)
    v.start("SOLUSDC", BID)
    d = v.send(
        PositionSynced(symbol="ETHUSDC", ts_ns=T0 + MS, qty_steps=2000, entry_price=2800.0)
    )  # 5600 USDC
    assert any(isinstance(r, GlobalCapChanged) and r.breached for r in d.reports)
    v.book("SOLUSDC", BID, T0 + 300 * MS)
    v.book("ETHUSDC", BID, T0 + 300 * MS)
    assert side_total(v, Side.BUY) == 0  # ETH may not add
    assert not v.resting("SOLUSDC")  # SOL is flat: both of its sides would add
    assert 1 <= side_total(v, Side.SELL) <= 2000  # ETH keeps reducing


def test_pretrade_keeps_worst_case_notional_within_the_global_cap() -> None:
    t = trader(("ETHUSDC", "SOLUSDC"), global_={"total_notional_max": 3000.0})
    v = Venue(t)
    v.start("ETHUSDC", BID)
    v.start("SOLUSDC", BID)
    v.timer(T0 + 300 * MS)
    assert t.store.worst_case_notional_usdc() <= 3000.0
    assert v.resting("ETHUSDC") and v.resting("SOLUSDC")


def test_stop_loss_cancels_and_flattens_once_and_stays_halted_until_resume() -> None:
    t = trader(("ETHUSDC", "SOLUSDC"), wallet=1000.0)
    v = Venue(t)
    v.start("ETHUSDC", BID)
    v.start("SOLUSDC", BID)
    v.send(PositionSynced(symbol="ETHUSDC", ts_ns=T0 + MS, qty_steps=1000, entry_price=2800.0))  # 1 ETH long
    v.send(MarkPriceUpdated(symbol="ETHUSDC", ts_ns=T0 + 2 * MS, mark_price=2700.0, funding_rate=0.0))
    assert not v.flattens()
    d = v.send(
        MarkPriceUpdated(symbol="ETHUSDC", ts_ns=T0 + 3 * MS, mark_price=2599.0, funding_rate=0.0)
    )  # -20.1 %
    fired = [r for r in d.reports if isinstance(r, StopLossFired)]
    assert len(fired) == 1 and fired[0].drawdown_pct >= 20.0
    assert {a.symbol for a in d.actions if isinstance(a, CancelAll)} == {"ETHUSDC", "SOLUSDC"}
    assert {a.symbol for a in d.actions if isinstance(a, Flatten)} == {"ETHUSDC", "SOLUSDC"}
    # later events: nothing new is sent, no second flatten, still halted
    before = len(v.actions)
    for k in range(1, 20):
        v.send(MarkPriceUpdated(symbol="ETHUSDC", ts_ns=T0 + k * NS, mark_price=2500.0 - k, funding_rate=0.0))
        v.book("ETHUSDC", BID - 100 * k, T0 + k * NS)
        v.timer(T0 + k * NS + MS)
    assert not [a for a in v.actions[before:] if isinstance(a, PlaceOrder | Flatten)]
    assert t.trading_state("ETHUSDC") == "halted" and t.trading_state("SOLUSDC") == "halted"
    # explicit resume: trading restarts from the current equity as the new peak
    v.send(PositionSynced(symbol="ETHUSDC", ts_ns=T0 + 30 * NS, qty_steps=0, entry_price=0.0))
    v.book("ETHUSDC", BID - 2000, T0 + 30 * NS)
    d = t.resume(None, T0 + 30 * NS)
    assert any(isinstance(a, PlaceOrder) for a in d.actions)
    assert t.trading_state("ETHUSDC") == "active"


def test_stale_book_or_lost_sync_cancels_quotes_and_recovers_when_fresh() -> None:
    t = trader()
    v = Venue(t)
    v.start("ETHUSDC", BID)
    assert v.resting("ETHUSDC")
    d = v.timer(T0 + 1500 * MS)  # stale_book_ms = 1000
    assert [a.reason for a in d.actions if isinstance(a, CancelAll)] == ["stale_book"]
    assert not v.resting("ETHUSDC")
    assert not [a for a in v.timer(T0 + 1700 * MS).actions if isinstance(a, PlaceOrder)]  # no re-quoting
    v.book("ETHUSDC", BID, T0 + 2000 * MS)
    assert v.resting("ETHUSDC")
    d = v.send(MarketDataStatus(symbol="ETHUSDC", ts_ns=T0 + 2100 * MS, in_sync=False, reason="gap"))
    assert any(isinstance(r, QuotesCancelled) and r.reason == "out_of_sync" for r in d.reports)
    assert not v.resting("ETHUSDC")
    v.send(MarketDataStatus(symbol="ETHUSDC", ts_ns=T0 + 2500 * MS, in_sync=True))
    v.book("ETHUSDC", BID, T0 + 2600 * MS)
    assert v.resting("ETHUSDC")


def test_requotes_at_most_every_quote_interval() -> None:
    t = trader(global_={"quote_interval_ms": 200})
    v = Venue(t)
    v.start("ETHUSDC", BID)
    # a move inside the execution band (1 bp ≈ 28 ticks here) waits for the interval; larger touch moves are
    # requoted sooner (tests/trader/test_pacing.py)
    quotes = [r for r in v.book("ETHUSDC", BID + 10, T0 + 50 * MS).reports if isinstance(r, QuotesComputed)]
    assert quotes == []
    quotes = [r for r in v.book("ETHUSDC", BID + 10, T0 + 210 * MS).reports if isinstance(r, QuotesComputed)]
    assert len(quotes) == 1 and quotes[0].bid_layers == 24 and quotes[0].ask_layers == 24


def test_unknown_cancel_answer_minus_2011_is_terminal() -> None:
    t = trader()
    v = Venue(t)
    v.start("ETHUSDC", BID)
    o = v.resting("ETHUSDC", Side.BUY)[0]
    del v.orders[o.client_order_id]  # the exchange already dropped it (e.g. expired)
    d = t.halt("ETHUSDC", "reconcile_mismatch", T0 + MS)
    assert any(isinstance(a, CancelAll) for a in d.actions)
    v._execute(d)
    v.flush()
    assert t.orders.open_count("ETHUSDC") <= 1
    tracked = t.orders.get(o.client_order_id, "ETHUSDC")
    assert tracked is not None
    # the venue never answers for the vanished order: cancel it explicitly and get -2011
    v._execute(Decision(actions=[CancelOrder(symbol="ETHUSDC", client_order_id=o.client_order_id)]))
    v.flush()
    assert t.orders.open_count("ETHUSDC") == 0
    assert t.trading_state("ETHUSDC") == "halted"


@settings(max_examples=120, deadline=None)
@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from(["move", "fill", "fill_all_bids", "fill_all_asks", "ack", "timer"]),
            st.integers(min_value=-400, max_value=400),
            st.floats(min_value=0.05, max_value=1.0),
        ),
        min_size=5,
        max_size=60,
    ),
    net_max=st.sampled_from([0.05, 0.2, 0.5, 2.0]),
)
def test_no_sequence_of_fills_of_resting_orders_passes_net_max(
    ops: list[tuple[str, int, float]], net_max: float
) -> None:
    t = trader(net_max=net_max)
    v = Venue(
        t, auto_ack=False
    )  # answers arrive late: in-flight places, cancels and amendments overlap fills
    bid = BID
    now = T0
    v.start("ETHUSDC", bid)
    limit = eth_filters().qty_to_steps(net_max)
    for op, k, frac in ops:
        now += 120 * MS
        if op == "move":
            bid += k
            v.book("ETHUSDC", bid, now)
        elif op == "fill" and v.orders:
            cids = sorted(v.orders)
            cid = cids[abs(k) % len(cids)]
            left = v.orders[cid].qty_steps - v.filled[cid]
            v.fill(cid, max(1, int(left * frac)), ts_ns=now)
        elif op in ("fill_all_bids", "fill_all_asks"):
            side = Side.BUY if op == "fill_all_bids" else Side.SELL
            for o in list(v.resting("ETHUSDC", side)):
                if o.client_order_id in v.orders:  # an earlier fill's reaction may have cancelled it
                    v.fill(o.client_order_id, o.qty_steps, ts_ns=now)
        elif op == "ack":
            v.flush()
        else:
            v.book("ETHUSDC", bid, now)
            v.timer(now + MS)
        st_ = t.store.symbols["ETHUSDC"]
        pos = st_.position.qty_steps
        assert abs(pos) <= limit
        # the exchange's view: position + everything resting of one side never exceeds the limit
        assert pos + side_total(v, Side.BUY) <= limit
        assert -pos + side_total(v, Side.SELL) <= limit


def test_an_idle_timer_pass_does_not_delay_the_next_book_driven_requote() -> None:
    t = trader(global_={"quote_interval_ms": 200})
    v = Venue(t)
    v.start("ETHUSDC", BID)
    idle = v.timer(T0 + 300 * MS)  # nothing changed: nothing to send
    assert not idle.actions
    moved = v.book("ETHUSDC", BID + 200, T0 + 350 * MS)  # 50 ms after the idle pass: still requotes
    assert [r for r in moved.reports if isinstance(r, QuotesComputed)]
