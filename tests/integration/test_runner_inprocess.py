"""The runner in-process against the loopback simulator: user-stream fills, stale data, hot reload.

The runner (``RunnerApp``) and the simulator share one event loop but talk only over real sockets
(REST, market streams, user stream, WebSocket API), exactly as against Binance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.integration.runner_helpers import (
    ETH_SYMBOL,
    MarketPump,
    own_orders,
    own_position_steps,
    runner_config,
    running_app,
    side_counts,
    wait_for,
    write_config,
)

from phoenix.core.types import BookDelta, BookSnapshot, Flatten, MarketDataStatus, OrderFilled, Side
from phoenix.exchange.sim.server import SimServer
from phoenix.exchange.sim.testing import running_sim
from phoenix.persistence.ledger import LedgerReader

pytestmark = pytest.mark.timeout(60)


def _full(sim: SimServer, n: int = 24) -> bool:
    bids, asks = side_counts(own_orders(sim))
    return bids == n and asks == n


async def test_fill_delivered_only_by_user_stream_moves_the_risk_position(tmp_path: Path) -> None:
    async with running_sim(symbols=["ETHUSDC"], feed="manual") as sim:
        pump = MarketPump(sim)
        pump.start()
        try:
            async with running_app(sim, tmp_path) as app:
                await wait_for(lambda: _full(sim), 10)
                assert app.trader is not None
                st = app.trader.store.symbols["ETHUSDC"]
                assert st.position.qty_steps == 0
                best_bid = max(o.price_ticks for o in own_orders(sim) if o.side is Side.BUY)
                # a market sell prints at our best bid: the exchange fills our order and tells us only
                # through the user stream (reconciliation is off: interval 3600 s)
                sim.apply_trade("ETHUSDC", best_bid, 50.0, Side.SELL)
                expected = own_position_steps(sim)
                assert expected > 0
                await wait_for(lambda: st.position.qty_steps == expected, 5)
                assert app.reconciler is not None and app.reconciler.rounds == 1  # only the start-up round
                assert st.worst_case_long_steps() >= expected  # risk counts the filled inventory
                assert app.stats.symbols["ETHUSDC"].fills >= 1

                def fill_rate_metric() -> float:
                    value = app.metrics.registry.get_sample_value("mm_fill_rate_5m", {"symbol": "ETHUSDC"})
                    return value or 0.0

                await wait_for(lambda: fill_rate_metric() > 0.0, 2)
                position_metric = app.metrics.registry.get_sample_value("mm_position", {"symbol": "ETHUSDC"})
                assert position_metric == pytest.approx(expected * 0.001)
                # the Trader's Flatten action (stop-loss path): cancel, then a reduce-only MARKET order
                assert app.executor is not None
                app.executor.submit([Flatten(symbol="ETHUSDC", reason="test")])
                await wait_for(lambda: own_position_steps(sim) == 0, 5)
                await wait_for(lambda: st.position.qty_steps == 0, 5)  # learnt from the user stream
        finally:
            await pump.stop()
        assert own_orders(sim) == []  # graceful stop cancelled every quote


async def test_frozen_market_stream_cancels_quotes_within_stale_age(tmp_path: Path) -> None:
    async with running_sim(symbols=["ETHUSDC"], feed="manual") as sim:
        pump = MarketPump(sim)
        pump.start()
        try:
            async with running_app(sim, tmp_path, stale_book_ms=500) as app:
                await wait_for(lambda: _full(sim), 10)
                sim.faults.freeze_ws(2.5, route="public")  # the stream stays open but says nothing
                took = await wait_for(lambda: not own_orders(sim), 5, step_s=0.02)
                assert took < 0.5 + 0.6  # stale age + timer period + one round trip, with margin
                assert app.ledger is not None and app.ledger.flush()
                with LedgerReader(app.ledger.path) as reader:
                    reasons = [d.get("reason") for _t, _s, _k, d in reader.risk_events("QuotesCancelled")]
                assert "stale_book" in reasons  # journalled why (recovery after a freeze: test_reconcile.py)
        finally:
            await pump.stop()


async def test_hot_reload_changes_the_ladder_without_restart(tmp_path: Path) -> None:
    async with running_sim(symbols=["ETHUSDC"], feed="manual") as sim:
        pump = MarketPump(sim)
        pump.start()
        try:
            async with running_app(sim, tmp_path) as app:
                await wait_for(lambda: _full(sim), 10)
                data = runner_config(sim, tmp_path / "state", symbols=[{**ETH_SYMBOL, "far_layers": 4}])
                write_config(tmp_path / "phoenix.yaml", data)
                await wait_for(lambda: _full(sim, 12), 10)  # 8 near + 4 far per side
                assert app.config.symbol("ETHUSDC").far_layers == 4
                assert app.trader is not None and app.trader.config.symbol("ETHUSDC").far_layers == 4
        finally:
            await pump.stop()


async def test_a_trader_exception_is_logged_counted_and_quoting_continues(tmp_path: Path) -> None:
    async with running_sim(symbols=["ETHUSDC"], feed="manual") as sim:
        pump = MarketPump(sim)
        pump.start()
        try:
            async with running_app(sim, tmp_path) as app:
                await wait_for(lambda: _full(sim), 10)
                failures: list[str] = []
                seen: list[Any] = []

                def inject(event: Any) -> None:  # the runner's public fault-injection hook
                    seen.append(event)
                    if isinstance(event, BookDelta) and len(failures) < 3:
                        failures.append(event.symbol)
                        raise RuntimeError("injected core bug")

                app.before_decide = inject
                await wait_for(lambda: len(failures) == 3, 5)
                labels = {"code": "decide_exception"}
                await wait_for(
                    lambda: app.metrics.registry.get_sample_value("mm_errors_total", labels) == 3, 5
                )
                assert not app.stop_event.is_set()  # 3 < the per-minute limit: keep running
                # fail closed: the symbol went out of sync and its book was rebuilt from a snapshot
                await wait_for(
                    lambda: (
                        any(isinstance(e, MarketDataStatus) and not e.in_sync for e in seen)
                        and any(isinstance(e, BookSnapshot) for e in seen)
                    ),
                    5,
                )
                assert app.market is not None and app.market.resyncs >= 1
                # the next book changes are processed normally and the ladder is whole again
                before = app.workers["ETHUSDC"].events
                await wait_for(lambda: app.workers["ETHUSDC"].events > before + 5, 5)
                await wait_for(lambda: _full(sim), 10)
        finally:
            await pump.stop()


async def test_a_trader_exception_on_a_fill_reconciles_at_once_and_the_fill_is_not_lost(
    tmp_path: Path,
) -> None:
    async with running_sim(symbols=["ETHUSDC"], feed="manual") as sim:
        pump = MarketPump(sim)
        pump.start()
        try:
            async with running_app(sim, tmp_path) as app:  # periodic reconciliation is off (3600 s)
                await wait_for(lambda: _full(sim), 10)
                assert app.trader is not None and app.reconciler is not None
                st = app.trader.store.symbols["ETHUSDC"]
                failed: list[int] = []

                def inject(event: Any) -> None:
                    if isinstance(event, OrderFilled) and not failed:
                        failed.append(event.fill.trade_id)
                        raise RuntimeError("injected core bug on a fill")

                app.before_decide = inject
                best_bid = max(o.price_ticks for o in own_orders(sim) if o.side is Side.BUY)
                sim.apply_trade("ETHUSDC", best_bid, 0.05, Side.SELL)
                expected = own_position_steps(sim)
                assert expected > 0
                await wait_for(lambda: bool(failed), 5)
                # the failed fill triggers a reconciliation now, which backfills it (it was never "seen")
                await wait_for(lambda: st.position.qty_steps == expected, 10)
                assert app.reconciler.rounds >= 2 and app.reconciler.backfilled_fills >= 1
                assert app.reconciler.mismatches == 0
        finally:
            await pump.stop()
