"""Store: events update state, fills move the position with local PnL, worst cases, totals, snapshots."""

from __future__ import annotations

import pytest

from phoenix.config import PhoenixConfig, SymbolConfig
from phoenix.core.store import Store, SymbolState
from phoenix.core.types import (
    BalanceUpdated,
    BookDelta,
    BookSnapshot,
    ConfigChanged,
    Fill,
    FundingPaid,
    MarketDataStatus,
    MarkPriceUpdated,
    OrderFilled,
    OrderStatus,
    OrderUpdated,
    PositionSynced,
    Side,
    SymbolFilters,
    TimerFired,
    TopOfBook,
    TradePrinted,
)

NS = 1_000_000_000
_trade_ids = iter(range(1, 1_000_000))


def fill(
    side: Side, price_ticks: int, qty_steps: int, symbol: str = "ETHUSDC", trade_id: int | None = None
) -> Fill:
    return Fill(
        symbol=symbol,
        client_order_id="phoenix-test",
        trade_id=next(_trade_ids) if trade_id is None else trade_id,
        side=side,
        price_ticks=price_ticks,
        qty_steps=qty_steps,
        maker=True,
        fee_usdc=0.01,
        realized_pnl_usdc=0.0,
        ts_ns=NS,
    )


def book(
    store: Store, symbol: str = "ETHUSDC", bid: int = 300_000, ask: int = 300_002, ts_ns: int = NS
) -> None:
    store.apply(BookSnapshot(symbol=symbol, ts_ns=ts_ns, bids=((bid, 1.0),), asks=((ask, 1.0),)))


def test_missing_filters_are_refused(config: PhoenixConfig, filters: dict[str, SymbolFilters]) -> None:
    with pytest.raises(KeyError, match="SOLUSDC"):
        Store(config, {"ETHUSDC": filters["ETHUSDC"]}, 1000.0)


def test_book_events_update_book_mid_and_signals(
    config: PhoenixConfig, filters: dict[str, SymbolFilters]
) -> None:
    store = Store(config, filters, 1000.0)
    st = store.symbols["ETHUSDC"]
    assert st.mid() is None and st.reference_price() is None and not st.in_sync
    book(store, ts_ns=5 * NS)
    assert st.mid() == pytest.approx(3000.01)
    assert st.last_book_ts_ns == 5 * NS
    store.apply(BookDelta(symbol="ETHUSDC", ts_ns=6 * NS, bids=((300_001, 2.0),), asks=()))
    assert st.book.best_bid_ticks == 300_001 and st.last_book_ts_ns == 6 * NS
    store.apply(
        TopOfBook(symbol="ETHUSDC", ts_ns=7 * NS, bid_ticks=300_010, bid_qty=1, ask_ticks=300_012, ask_qty=1)
    )
    assert st.mid() == pytest.approx(3000.11)
    assert st.signals.last_mid == pytest.approx(3000.11)
    assert st.signals.price_at_sec(6) == pytest.approx(3000.015)
    # other symbols and unknown symbols are untouched / ignored
    store.apply(BookDelta(symbol="BTCUSDC", ts_ns=8 * NS, bids=((1, 1.0),), asks=()))
    assert store.symbols["SOLUSDC"].mid() is None


def test_market_status_trades_mark_funding_and_balance(
    config: PhoenixConfig, filters: dict[str, SymbolFilters]
) -> None:
    store = Store(config, filters, 1000.0)
    st = store.symbols["ETHUSDC"]
    book(store)
    store.apply(MarketDataStatus(symbol="ETHUSDC", ts_ns=NS, in_sync=True))
    assert st.in_sync
    store.apply(MarketDataStatus(symbol="ETHUSDC", ts_ns=NS, in_sync=False, reason="gap"))
    assert not st.in_sync and st.mid() is None  # an out-of-sync book is cleared: never quote from it
    store.apply(TradePrinted(symbol="ETHUSDC", ts_ns=NS, price_ticks=300_000, qty=1.0, aggressor=Side.BUY))
    assert st.signals.trades_per_s(NS) > 0
    store.apply(
        MarkPriceUpdated(
            symbol="ETHUSDC", ts_ns=NS, mark_price=3001.0, funding_rate=0.0001, next_funding_ms=9
        )
    )
    assert st.mark_price == 3001.0 and st.funding_rate == 0.0001 and st.next_funding_ms == 9
    assert st.signals.funding_ema == 0.0001
    assert st.reference_price() == 3001.0  # no book: the mark price
    store.apply(FundingPaid(symbol="ETHUSDC", ts_ns=NS, amount_usdc=-0.25))
    assert st.funding_usdc == -0.25
    store.apply(BalanceUpdated(ts_ns=NS, wallet_usdc=1200.0))
    assert store.wallet_usdc == 1200.0 and store.peak_equity_usdc == 1200.0
    store.apply(TimerFired(ts_ns=NS))
    store.apply(
        OrderUpdated(
            symbol="ETHUSDC",
            ts_ns=NS,
            client_order_id="x",
            status=OrderStatus.NEW,
            side=Side.BUY,
            price_ticks=1,
            qty_steps=1,
        )
    )
    assert st.position.qty_steps == 0


def test_fills_open_add_reduce_flip_and_close_with_local_pnl(
    config: PhoenixConfig, filters: dict[str, SymbolFilters]
) -> None:
    store = Store(config, filters, 1000.0)
    st = store.symbols["ETHUSDC"]
    assert st.apply_fill(fill(Side.BUY, 300_000, 100)) == 0.0  # long 0.1 @ 3000
    assert st.apply_fill(fill(Side.BUY, 310_000, 100)) == 0.0  # long 0.2 @ 3050
    assert st.position.qty_steps == 200 and st.position.entry_price == pytest.approx(3050.0)
    pnl = st.apply_fill(fill(Side.SELL, 320_000, 50))  # sell 0.05 @ 3200: +0.05 × 150
    assert pnl == pytest.approx(7.5)
    assert st.position.qty_steps == 150 and st.position.entry_price == pytest.approx(3050.0)
    pnl = st.apply_fill(fill(Side.SELL, 300_000, 250))  # close 0.15 @ 3000 (−7.5), open short 0.1 @ 3000
    assert pnl == pytest.approx(-7.5)
    assert st.position.qty_steps == -100 and st.position.entry_price == pytest.approx(3000.0)
    pnl = st.apply_fill(fill(Side.BUY, 290_000, 100))  # 0.1 short covered 100 lower: +10
    assert pnl == pytest.approx(10.0)
    assert st.position.qty_steps == 0 and st.position.entry_price == 0.0
    assert st.realized_pnl_usdc == pytest.approx(10.0)
    assert st.fees_usdc == pytest.approx(0.05) and st.fill_count == 5


def test_duplicate_fills_are_applied_once(config: PhoenixConfig, filters: dict[str, SymbolFilters]) -> None:
    store = Store(config, filters, 1000.0)
    st = store.symbols["ETHUSDC"]
    f = fill(Side.BUY, 300_000, 10, trade_id=42)
    store.apply(OrderFilled(fill=f, ts_ns=NS))
    store.apply(OrderFilled(fill=f, ts_ns=NS))
    assert st.position.qty_steps == 10 and st.has_seen_fill(42)
    # the remembered set is bounded: very old ids are forgotten
    for k in range(5000):
        st.apply_fill(fill(Side.BUY, 300_000, 1, trade_id=10_000 + k))
    assert not st.has_seen_fill(42)
    assert len(st._seen_trade_ids) <= 4096


def test_worst_case_net_max_and_notional_totals(
    config: PhoenixConfig, filters: dict[str, SymbolFilters]
) -> None:
    store = Store(config, filters, 1000.0)
    eth, sol = store.symbols["ETHUSDC"], store.symbols["SOLUSDC"]
    assert eth.net_max_steps() == 200  # 0.2 ETH, no price needed
    book(store, "ETHUSDC", 300_000, 300_000 + 2)
    book(store, "SOLUSDC", 25_000, 25_002)  # SOL at 250.01: 1000 USDC / 250.01 = 3.9998 → 3.999
    assert sol.net_max_steps() == 3999
    eth.apply_fill(fill(Side.BUY, 300_000, 50))
    eth.pending_buy_steps = 30
    eth.pending_sell_steps = 120
    assert eth.worst_case_long_steps() == 80
    assert eth.worst_case_short_steps() == 70
    sol.apply_fill(fill(Side.SELL, 25_000, 2000, symbol="SOLUSDC"))
    sol.pending_buy_steps = 500
    assert sol.worst_case_long_steps() == -1500 and sol.worst_case_short_steps() == 2000
    expected_total = 0.05 * 3000.01 + 2.0 * 250.01
    assert store.total_notional_usdc() == pytest.approx(expected_total)
    assert store.worst_case_notional_usdc() == pytest.approx(0.08 * 3000.01 + 2.0 * 250.01)
    cap = config.global_.total_notional_max
    assert store.notional_headroom_usdc() == pytest.approx(cap - store.worst_case_notional_usdc())
    assert not store.over_notional_cap()
    small = PhoenixConfig.model_validate(
        {"global": {"total_notional_max": 500.0}, "symbols": [s.model_dump() for s in config.symbols]}
    )
    store.replace_config(small)
    assert store.over_notional_cap() and store.notional_headroom_usdc() < 0


def test_equity_peak_and_drawdown_follow_mark_prices(
    config: PhoenixConfig, filters: dict[str, SymbolFilters]
) -> None:
    store = Store(config, filters, 1000.0)
    eth = store.symbols["ETHUSDC"]
    store.apply(OrderFilled(fill=fill(Side.BUY, 300_000, 100), ts_ns=NS))
    assert store.equity_usdc() == 1000.0  # no price yet: unrealised unknown ⇒ 0
    store.apply(MarkPriceUpdated(symbol="ETHUSDC", ts_ns=NS, mark_price=3100.0, funding_rate=0.0))
    assert eth.unrealized_pnl_usdc() == pytest.approx(10.0)
    assert store.peak_equity_usdc == pytest.approx(1010.0)
    store.apply(MarkPriceUpdated(symbol="ETHUSDC", ts_ns=2 * NS, mark_price=2900.0, funding_rate=0.0))
    assert store.equity_usdc() == pytest.approx(990.0)
    assert store.peak_equity_usdc == pytest.approx(1010.0)
    assert store.drawdown_pct() == pytest.approx(20 / 1010 * 100)
    store.peak_equity_usdc = 0.0
    assert store.drawdown_pct() == 0.0


def test_position_sync_adopts_the_exchange_truth(
    config: PhoenixConfig, filters: dict[str, SymbolFilters]
) -> None:
    store = Store(config, filters, 1000.0)
    store.apply(PositionSynced(symbol="ETHUSDC", ts_ns=NS, qty_steps=-37, entry_price=2999.5))
    pos = store.symbols["ETHUSDC"].position
    assert pos.qty_steps == -37 and pos.entry_price == 2999.5
    store.apply(PositionSynced(symbol="ETHUSDC", ts_ns=NS, qty_steps=0, entry_price=2999.5))
    assert pos.entry_price == 0.0


def test_config_change_swaps_symbol_configs(config: PhoenixConfig, filters: dict[str, SymbolFilters]) -> None:
    store = Store(config, filters, 1000.0)
    eth = store.symbols["ETHUSDC"]
    eth.signals.on_funding(0, 0.0003)
    signals_before = eth.signals
    new = PhoenixConfig(
        symbols=(
            SymbolConfig(symbol="ETHUSDC", net_max=0.5),
            SymbolConfig(symbol="SOLUSDC", net_max=10.0, net_max_notional_usdc=1000.0),
        )
    )
    store.apply(ConfigChanged(ts_ns=NS, config=new))
    assert store.config is new and eth.config.net_max == 0.5 and eth.net_max_steps() == 500
    assert eth.signals is signals_before  # windows unchanged: signals keep their history
    windows = PhoenixConfig(
        symbols=(
            SymbolConfig(symbol="ETHUSDC", net_max=0.5, vol_window_s=900),
            SymbolConfig(symbol="SOLUSDC", net_max=10.0),
        )
    )
    store.replace_config(windows)
    assert eth.signals is not signals_before and eth.signals.funding_ema == 0.0003
    store.apply(ConfigChanged(ts_ns=NS, config="not a config"))
    assert store.config is windows


def test_snapshot_round_trip(config: PhoenixConfig, filters: dict[str, SymbolFilters]) -> None:
    store = Store(config, filters, 1000.0)
    eth = store.symbols["ETHUSDC"]
    eth.apply_fill(fill(Side.BUY, 300_000, 120))
    eth.apply_fill(fill(Side.SELL, 310_000, 20))
    store.apply(MarkPriceUpdated(symbol="ETHUSDC", ts_ns=NS, mark_price=3050.0, funding_rate=0.0002))
    store.apply(FundingPaid(symbol="ETHUSDC", ts_ns=NS, amount_usdc=0.3))
    snap = store.to_snapshot()
    restored = Store.from_snapshot(config, filters, snap)
    r = restored.symbols["ETHUSDC"]
    assert r.position.qty_steps == 100 and r.position.entry_price == pytest.approx(3000.0)
    assert r.realized_pnl_usdc == pytest.approx(eth.realized_pnl_usdc)
    assert r.funding_usdc == pytest.approx(0.3) and r.fill_count == 2 and r.fees_usdc == pytest.approx(0.02)
    assert r.signals.funding_ema == pytest.approx(0.0002)
    assert restored.wallet_usdc == 1000.0 and restored.peak_equity_usdc == store.peak_equity_usdc
    assert r.mid() is None and not r.in_sync  # books must re-sync after a restore
    assert restored.to_snapshot() == snap
    with pytest.raises(ValueError, match="version"):
        Store.from_snapshot(config, filters, {"version": 99})
    with pytest.raises(ValueError, match="wallet"):
        Store.from_snapshot(config, filters, {"version": 1})
    partial = Store.from_snapshot(
        config, filters, {"version": 1, "wallet_usdc": 5, "symbols": {"XRPUSDC": {}}}
    )
    assert partial.wallet_usdc == 5.0 and partial.symbols["ETHUSDC"].position.qty_steps == 0


def test_symbol_state_create_is_flat_and_out_of_sync(filters: dict[str, SymbolFilters]) -> None:
    st = SymbolState.create(SymbolConfig(symbol="ETHUSDC", net_max=1.0), filters["ETHUSDC"])
    assert st.position.qty_steps == 0 and not st.in_sync and st.pending_buy_steps == 0
    assert st.unrealized_pnl_usdc() == 0.0
    st.position.qty_steps = 10
    assert st.unrealized_pnl_usdc() == 0.0  # no price at all
