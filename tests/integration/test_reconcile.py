"""Reconciliation and dead-man safety over loopback: missed fills, foreign orders, an exchange outage."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.integration.runner_helpers import (
    MarketPump,
    own_orders,
    own_position_steps,
    side_counts,
    wait_for,
)
from tests.integration.test_runner_inprocess import running_app

from phoenix.core.types import Side
from phoenix.exchange.binance.rest import BinanceRestClient
from phoenix.exchange.binance.signing import HmacSigner
from phoenix.exchange.sim.server import SimServer
from phoenix.exchange.sim.testing import running_sim
from phoenix.persistence.ledger import LEDGER_FILE_NAME, LedgerReader

pytestmark = pytest.mark.timeout(60)


def _ours(sim: SimServer) -> list[object]:
    return [o for o in own_orders(sim) if o.client_order_id.startswith("phoenix-")]


async def test_fill_missed_by_a_frozen_user_stream_is_backfilled_not_double_counted(tmp_path: Path) -> None:
    async with running_sim(symbols=["ETHUSDC"], feed="manual") as sim:
        pump = MarketPump(sim)
        pump.start()
        try:
            async with running_app(sim, tmp_path, reconcile_interval_s=1) as app:
                await wait_for(lambda: side_counts(own_orders(sim)) == (24, 24), 10)
                assert app.trader is not None and app.reconciler is not None
                st = app.trader.store.symbols["ETHUSDC"]
                sim.faults.freeze_ws(4.0, route="private")  # the fill's events are held back 4 s
                best_bid = max(o.price_ticks for o in own_orders(sim) if o.side is Side.BUY)
                sim.apply_trade("ETHUSDC", best_bid, 50.0, Side.SELL)
                expected = own_position_steps(sim)
                assert expected > 0 and st.position.qty_steps == 0
                # reconciliation sees the difference, waits its grace, then backfills from userTrades
                await wait_for(lambda: st.position.qty_steps == expected, 3.5)
                assert app.reconciler.backfilled_fills >= 1
                assert app.reconciler.mismatches == 0
                assert app.trader.trading_state("ETHUSDC") == "active"
                await wait_for(lambda: app.user is not None and app.user.last_message_age_s() < 0.5, 8)
                await wait_for(lambda: side_counts(own_orders(sim)) == (24, 24), 5)
                assert st.position.qty_steps == expected  # the late stream copy was not applied twice
        finally:
            await pump.stop()
    with LedgerReader(tmp_path / "state" / LEDGER_FILE_NAME) as reader:
        fills = reader.fills()
    assert sum(round(f.qty * 1000) for f in fills) == expected
    assert len({f.trade_id for f in fills}) == len(fills)


async def test_foreign_open_order_is_an_unexplained_mismatch_that_halts_the_symbol(tmp_path: Path) -> None:
    async with running_sim(symbols=["ETHUSDC"], feed="manual") as sim:
        pump = MarketPump(sim)
        pump.start()
        try:
            async with running_app(sim, tmp_path, reconcile_interval_s=1) as app:
                await wait_for(lambda: side_counts(own_orders(sim)) == (24, 24), 10)
                assert app.endpoints is not None and app.trader is not None
                signer = HmacSigner(sim.api_key, sim.api_secret)
                async with BinanceRestClient(app.endpoints, signer) as rest:
                    await rest.place_order(
                        {
                            "symbol": "ETHUSDC",
                            "side": "BUY",
                            "type": "LIMIT",
                            "timeInForce": "GTX",
                            "price": "2500.00",
                            "quantity": "0.010",
                            "newClientOrderId": "someone-else-1",
                        }
                    )
                trader = app.trader
                await wait_for(lambda: trader.trading_state("ETHUSDC") == "halted", 5)
                # halt = cancel-all on the symbol (Binance's allOpenOrders takes the foreign order too)
                await wait_for(lambda: not _ours(sim), 5)
                await asyncio.sleep(1.5)  # halted is latched: nothing is quoted again
                assert not _ours(sim)
                assert trader.trading_state("ETHUSDC") == "halted"
                mismatches = app.metrics.registry.get_sample_value(
                    "mm_reconcile_mismatch_total", {"symbol": "ETHUSDC"}
                )
                assert mismatches is not None and mismatches >= 1
        finally:
            await pump.stop()
    with LedgerReader(tmp_path / "state" / LEDGER_FILE_NAME) as reader:
        kinds = {k for _t, _s, k, _d in reader.risk_events()}
    assert "reconcile_mismatch" in kinds


async def test_dead_man_switch_that_cannot_be_refreshed_halts_until_it_can(tmp_path: Path) -> None:
    async with running_sim(symbols=["ETHUSDC"], feed="manual") as sim:
        pump = MarketPump(sim)
        pump.start()
        try:
            async with running_app(
                sim, tmp_path, deadman_countdown_ms=5000, deadman_refresh_s=1.0, stale_book_ms=5000
            ) as app:
                await wait_for(lambda: side_counts(own_orders(sim)) == (24, 24), 10)
                trader = app.trader
                assert trader is not None and app.deadman_armed
                sim.faults.error_storm(kind="unavailable", seconds=3.0)  # REST and ws-fapi answer 503
                # unarmed for half the countdown ⇒ halted (quotes cancelled by us or, at the latest, by
                # the exchange's own countdown)
                await wait_for(lambda: trader.trading_state("ETHUSDC") == "halted", 6)
                assert not app.deadman_armed
                await wait_for(lambda: not _ours(sim), 6)
                # the storm ends, the refresh succeeds: resumed and quoting again
                await wait_for(lambda: trader.trading_state("ETHUSDC") == "active", 8)
                await wait_for(lambda: side_counts(own_orders(sim)) == (24, 24), 10)
                assert app.deadman_armed
        finally:
            await pump.stop()


async def test_all_websockets_down_then_back_recovers_without_orphans(tmp_path: Path) -> None:
    async with running_sim(symbols=["ETHUSDC"], feed="manual") as sim:
        pump = MarketPump(sim)
        pump.start()
        try:
            async with running_app(sim, tmp_path, reconcile_interval_s=1) as app:
                await wait_for(lambda: side_counts(own_orders(sim)) == (24, 24), 10)
                trader = app.trader
                assert trader is not None
                sim.faults.drop_ws(None, refuse_s=2.0)  # market, user stream and WebSocket API all drop
                # market data out of sync ⇒ quotes cancelled (over REST: the order socket is gone too)
                await wait_for(lambda: not _ours(sim), 5)
                # sockets come back: books resync, quoting resumes, and the tracker matches the exchange
                await wait_for(lambda: side_counts(own_orders(sim)) == (24, 24), 15)
                await wait_for(lambda: app.live_counts("ETHUSDC") == side_counts(own_orders(sim)), 5)

                def same_orders() -> bool:
                    at_exchange = {o.client_order_id for o in own_orders(sim)}
                    tracked = {o.client_order_id for o in trader.orders.iter_open("ETHUSDC")}
                    return at_exchange == tracked  # nothing orphaned at the exchange, nothing lost by us

                await wait_for(same_orders, 5)
        finally:
            await pump.stop()
