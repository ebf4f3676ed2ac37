"""The requote memo (``skip_unchanged``) never changes a decision: the real ETHUSDC series is replayed through
a caching trader and a trader that recomputes every requote, and every event's actions must be identical."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from phoenix.core.types import (
    Action,
    Event,
    MarketDataStatus,
    MarkPriceUpdated,
    PositionSynced,
    TimerFired,
    TopOfBook,
)
from phoenix.trader.replay import acknowledge, parse_mid_rows, parse_rfc3339_ns
from phoenix.trader.reports import QuotesComputed
from phoenix.trader.trader import Trader
from tests.trader.support import eth_filters, make_config

MS = 1_000_000
NS = 1_000_000_000


def _events(rows: list[tuple[int, float]]) -> list[Event]:
    """Top of book per row + 100 ms timers + a mark price every second + positions that switch pinning on
    (long and short, 80 % of net_max) and off again."""
    out: list[Event] = [MarketDataStatus(symbol="ETHUSDC", ts_ns=rows[0][0] - 1, in_sync=True)]
    t0 = rows[0][0]
    span = rows[-1][0] - t0
    positions = {t0 + span // 4: 1600, t0 + span // 2: 0, t0 + 3 * span // 4: -1600}
    next_timer = t0 + 100 * MS
    next_mark = t0 + NS
    bid = 0
    for ts, mid in rows:
        while next_timer < ts:
            out.append(TimerFired(ts_ns=next_timer))
            next_timer += 100 * MS
            if next_timer > next_mark and bid:
                # mark a little off the mid so that the PERCENT_PRICE band input varies too
                mark = (bid + 0.5) * 0.01 * (1.0 + 1e-5 * math.sin(next_mark / NS))
                out.append(
                    MarkPriceUpdated(symbol="ETHUSDC", ts_ns=next_mark, mark_price=mark, funding_rate=1e-4)
                )
                next_mark += NS
        for at, qty in list(positions.items()):
            if at <= ts:
                out.append(PositionSynced(symbol="ETHUSDC", ts_ns=ts, qty_steps=qty, entry_price=mid))
                del positions[at]
        bid = math.floor(mid / 0.01 - 0.5 + 1e-6)
        out.append(
            TopOfBook(symbol="ETHUSDC", ts_ns=ts, bid_ticks=bid, bid_qty=5.0, ask_ticks=bid + 1, ask_qty=5.0)
        )
    return out


def _run(
    events: list[Event], skip_unchanged: bool, strategy: str
) -> tuple[list[list[Action]], int, list[tuple[str, int]]]:
    trader = Trader(
        make_config(),
        {"ETHUSDC": eth_filters()},
        wallet_usdc=100_000.0,
        strategy=strategy,
        id_seed_ms=events[0].ts_ns // MS,
        skip_unchanged=skip_unchanged,
    )
    decisions: list[list[Action]] = []
    computed = 0
    for ev in events:
        queue = [ev]
        while queue:
            d = trader.on_event(queue.pop(0))
            decisions.append(list(d.actions))
            computed += sum(isinstance(r, QuotesComputed) for r in d.reports)
            queue.extend(acknowledge(trader, d.actions, ev.ts_ns))
    layers = sorted((o.client_order_id, o.layer) for o in trader.orders.open_orders("ETHUSDC"))
    return decisions, computed, layers


@pytest.mark.parametrize(("strategy", "n_rows"), [("asmm", 6000), ("avellaneda_stoikov", 3000)])
def test_memo_gives_the_same_decisions_as_fresh_computation(
    ethusdc_mid_csv: Path, strategy: str, n_rows: int
) -> None:
    # asmm declares its inputs (inputs_key); other strategies fall back to the signals/wall second
    rows = parse_mid_rows(ethusdc_mid_csv.read_text().splitlines())
    start = parse_rfc3339_ns("2025-11-24T08:26:08Z")
    rows = [r for r in rows if r[0] >= start][:n_rows]  # 6000 rows ≈ 25 minutes of the continuous hour
    events = _events(rows)
    cached, cached_computed, cached_layers = _run(events, skip_unchanged=True, strategy=strategy)
    fresh, fresh_computed, fresh_layers = _run(events, skip_unchanged=False, strategy=strategy)
    assert len(cached) == len(fresh)
    for i, (a, b) in enumerate(zip(cached, fresh, strict=True)):
        assert a == b, f"decision {i} differs"
    assert cached_layers == fresh_layers
    assert sum(len(a) for a in fresh) > 100  # the replay really moves orders (pinning on and off included)
    assert cached_computed < 0.9 * fresh_computed  # and the memo really skips work
