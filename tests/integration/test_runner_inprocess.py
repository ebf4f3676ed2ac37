"""The runner in-process against the loopback simulator: user-stream fills, stale data, hot reload.

The runner (``RunnerApp``) and the simulator share one event loop but talk only over real sockets
(REST, market streams, user stream, WebSocket API), exactly as against Binance.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.integration.runner_helpers import (
    ETH_SYMBOL,
    MarketPump,
    own_orders,
    own_position_steps,
    runner_config,
    side_counts,
    wait_for,
    write_config,
)

from phoenix.config import load_config
from phoenix.core.types import BookDelta, Flatten, Side
from phoenix.exchange.sim.server import SimServer
from phoenix.exchange.sim.testing import running_sim
from phoenix.persistence.ledger import LedgerReader
from phoenix.runner.app import RunnerApp

pytestmark = pytest.mark.timeout(60)


@contextlib.asynccontextmanager
async def running_app(
    sim: SimServer, tmp_path: Path, symbols: list[dict[str, Any]] | None = None, **overrides: Any
) -> AsyncIterator[RunnerApp]:
    data = runner_config(sim, tmp_path / "state", symbols=symbols, **overrides)
    path = write_config(tmp_path / "phoenix.yaml", data)
    config = load_config(path, env={})
    app = RunnerApp(config, config_path=path, install_signal_handlers=False, env={})
    task = asyncio.get_running_loop().create_task(app.run())
    try:
        await wait_for(lambda: app.ready.is_set() or task.done(), 15)
        assert not task.done(), "runner exited during start-up"
        yield app
    finally:
        app.request_stop("test done")
        code = await asyncio.wait_for(task, 20)
        assert code == 0


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
                trader = app.trader
                assert trader is not None
                real = trader.on_event
                failures: list[str] = []

                def flaky(event: Any) -> Any:
                    if isinstance(event, BookDelta) and len(failures) < 3:
                        failures.append(event.symbol)
                        raise RuntimeError("injected core bug")
                    return real(event)

                trader.on_event = flaky  # type: ignore[method-assign]
                await wait_for(lambda: len(failures) == 3, 5)
                labels = {"code": "decide_exception"}
                errors = app.metrics.registry.get_sample_value("mm_errors_total", labels)
                assert errors == 3
                assert not app.stop_event.is_set()  # 3 < the per-minute limit: keep running
                # the next book changes are processed normally
                before = app.workers["ETHUSDC"].events
                await wait_for(lambda: app.workers["ETHUSDC"].events > before + 5, 5)
                assert _full(sim)
        finally:
            await pump.stop()
