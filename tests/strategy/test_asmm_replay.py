"""ASMM driven through the Store by the real ETHUSDC mid series: every quote set stays valid."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from phoenix.config import PhoenixConfig, SymbolConfig
from phoenix.core.store import Store
from phoenix.core.types import MarkPriceUpdated, Side, TopOfBook
from phoenix.strategy import load_strategy
from tests.strategy.support import eth_filters


def test_real_mid_series_produces_valid_skewed_ladders(ethusdc_mid_csv: Path) -> None:
    raw = np.loadtxt(ethusdc_mid_csv, delimiter=",", skiprows=1, usecols=(0, 1, 2), dtype=str)
    ts_ns = np.array([s.rstrip("Z") for s in raw[:, 0]], dtype="datetime64[ns]").astype(np.int64)
    mids = raw[:, 1].astype(float)
    # the bot's own position (±0.024 ETH) scaled ×8 so that pinning (> 0.14 ETH) engages now and then
    positions = np.round(raw[:, 2].astype(float) * 1000).astype(int) * 8
    config = PhoenixConfig(symbols=(SymbolConfig(symbol="ETHUSDC", net_max=0.2),))
    filters = eth_filters()
    store = Store(config, {"ETHUSDC": filters}, wallet_usdc=1000.0)
    state = store.symbols["ETHUSDC"]
    strategy = load_strategy("asmm")
    pinned = skewed_down = skewed_up = 0
    for i in range(len(mids)):
        twice = round(mids[i] * 200)  # mid in half ticks
        bid, ask = (twice - 1) // 2, (twice + 1) // 2
        if twice % 2 == 0:
            bid, ask = twice // 2 - 1, twice // 2 + 1
        ts = int(ts_ns[i])
        store.apply(
            TopOfBook(symbol="ETHUSDC", ts_ns=ts, bid_ticks=bid, bid_qty=1.0, ask_ticks=ask, ask_qty=1.0)
        )
        if i % 10 == 0:
            store.apply(MarkPriceUpdated(symbol="ETHUSDC", ts_ns=ts, mark_price=mids[i], funding_rate=0.0))
        state.position.qty_steps = int(positions[i])
        qs = strategy.quote(state, ts)
        assert len(qs.bids) == 24 and len(qs.asks) == 24
        bids = [q.price_ticks for q in qs.bids]
        asks = [q.price_ticks for q in qs.asks]
        assert bids == sorted(set(bids), reverse=True) and asks == sorted(set(asks))
        assert bids[0] <= bid and asks[0] >= ask
        for q in qs.bids + qs.asks:
            assert filters.notional_usdc(q.price_ticks, q.qty_steps) >= 20.0 - 1e-9
        mid = (bid + ask) * 0.005
        q_steps = int(positions[i])
        if q_steps > 0:
            assert qs.reservation_price < mid
            skewed_down += 1
        elif q_steps < 0:
            assert qs.reservation_price > mid
            skewed_up += 1
        if abs(q_steps) > 140:
            pinned += 1
            side = Side.SELL if q_steps > 0 else Side.BUY
            assert qs.pinning_side is side
            first = qs.asks[0] if side is Side.SELL else qs.bids[0]
            assert first.layer == 0 and first.qty_steps <= abs(q_steps)
        else:
            assert qs.pinning_side is None
    assert pinned > 100 and skewed_down > 300 and skewed_up > 300
    assert state.signals.vol_long_bps is not None
