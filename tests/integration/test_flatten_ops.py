"""Flatten (runner stop-loss action and ``phoenix flatten``) and emergency cancel-all against the simulator.

Flatten loops cancel-all → position → reduce-only MARKET chunks (≤ MARKET_LOT_SIZE maxQty) → verify;
cancel-all tries every symbol. Client ids of these orders live in their own ``phxr-`` namespace.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from tests.adapter.conftest import sim_endpoints_of
from tests.integration.runner_helpers import own_orders, own_position_steps, wait_for
from tests.integration.test_executor_live import _executor_rig

from phoenix.core.types import Flatten, OrderType, OrderUpdated, PlaceOrder, Side, SymbolFilters, TimeInForce
from phoenix.exchange.binance import codec
from phoenix.exchange.binance.rest import BinanceRestClient
from phoenix.exchange.binance.signing import HmacSigner
from phoenix.exchange.sim.server import SimServer
from phoenix.exchange.sim.symbols import DEFAULT_SYMBOLS
from phoenix.exchange.sim.testing import running_sim
from phoenix.execution.ids import MAX_LEN, OrderIdGenerator, is_own_order_id
from phoenix.runner import ops
from phoenix.runner.flatten import RunnerIdGenerator, chunk_steps, fetch_market_max_steps, is_runner_order_id

pytestmark = pytest.mark.timeout(60)
ETH = "ETHUSDC"
SMALL_MARKET_MAX = {ETH: dataclasses.replace(DEFAULT_SYMBOLS[ETH], market_max_qty=Decimal("0.05"))}


@contextlib.asynccontextmanager
async def _rest(
    sim: SimServer, symbols: list[str]
) -> AsyncIterator[tuple[BinanceRestClient, dict[str, SymbolFilters]]]:
    rest = BinanceRestClient(sim_endpoints_of(sim), HmacSigner(sim.api_key, sim.api_secret))
    await rest.start()
    try:
        yield rest, await rest.fetch_exchange_filters(symbols)
    finally:
        await rest.close()


async def _long(sim: SimServer, rest: BinanceRestClient, f: SymbolFilters, steps: int) -> None:
    """Give the account a long position of ``steps`` (a resting bid filled by a market sell)."""
    best = int(sim.engine.depth(f.symbol, 5, sim.now_ms()).bids[0][0])
    bid = PlaceOrder(
        symbol=f.symbol,
        client_order_id=f"test-long-{time.time_ns()}",
        side=Side.BUY,
        price_ticks=best - 30,
        qty_steps=steps,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.GTC,
    )
    await rest.place_order(codec.place_params(bid, f))
    sim.apply_trade(f.symbol, best - 30, f.steps_to_qty(steps) + 1, Side.SELL)
    assert own_position_steps(sim, f.symbol) == steps


async def _resting_orders(sim: SimServer, rest: BinanceRestClient, f: SymbolFilters, n: int) -> None:
    best = int(sim.engine.depth(f.symbol, 5, sim.now_ms()).bids[0][0])
    for i in range(n):
        o = PlaceOrder(
            symbol=f.symbol,
            client_order_id=f"test-rest-{f.symbol}-{i}",
            side=Side.BUY,
            price_ticks=best - 100 - i,
            qty_steps=f.qty_to_steps(float(f.min_qty)) * 10,
            order_type=OrderType.LIMIT,
            time_in_force=TimeInForce.GTC,
        )
        await rest.place_order(codec.place_params(o, f))


def test_runner_ids_are_unique_short_and_apart_from_the_trader_namespace() -> None:
    gen = RunnerIdGenerator("ops", seed_ms=1_700_000_000_000)
    ids = [gen.next_id("ETHUSDC", 1_700_000_000_000) for _ in range(50)]  # same ms: seq ≥ 10 too
    ids += [gen.next_id("AVERYVERYLONGSYMBOLNAMEUSDC", 1_700_000_000_001) for _ in range(12)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) <= MAX_LEN and is_runner_order_id(i) and not is_own_order_id(i) for i in ids)
    trader_id = OrderIdGenerator(seed_ms=1_700_000_000_000).next_id("ETHUSDC", 1_700_000_000_000 * 1_000_000)
    assert not is_runner_order_id(trader_id) and trader_id not in ids
    assert chunk_steps(120, 50) == [50, 50, 20] and chunk_steps(100, 50) == [50, 50]


async def test_runner_flatten_closes_in_market_max_chunks_and_retries_after_errors(tmp_path: Path) -> None:
    async with running_sim(symbols=[ETH], feed="manual", specs=SMALL_MARKET_MAX) as sim:
        async with _rest(sim, [ETH]) as (rest, filters):
            await _long(sim, rest, filters[ETH], 120)  # 0.12 ETH, MARKET max 0.05 ETH
            max_steps = await fetch_market_max_steps(rest, filters)
        assert max_steps == {ETH: 50}
        async with _executor_rig(sim, tmp_path, 1000) as rig:
            rig.executor.market_max_steps = max_steps
            sim.faults.error_storm(kind="unavailable", count=2)  # the first attempt fails outright
            rig.executor.submit([Flatten(symbol=ETH, reason="test")])
            await wait_for(lambda: own_position_steps(sim) == 0, 15)
            await rig.executor.drain(10)
            closes = [
                e for e in rig.fed if isinstance(e, OrderUpdated) and is_runner_order_id(e.client_order_id)
            ]
            assert sorted(e.filled_steps for e in closes) == [20, 50, 50]


async def test_ops_cancel_all_tries_every_symbol_and_reports_failures() -> None:
    async with (
        running_sim(symbols=[ETH, "BTCUSDC"], feed="manual") as sim,
        _rest(sim, [ETH, "BTCUSDC"]) as (rest, filters),
    ):
        await _resting_orders(sim, rest, filters[ETH], 2)
        await _resting_orders(sim, rest, filters["BTCUSDC"], 3)
        sim.faults.error_storm(kind="unavailable", count=3)  # every try of the first symbol fails
        report = await ops.cancel_all(rest, [ETH, "BTCUSDC"], attempts=3, backoff_s=0.01)
        assert not report.ok and list(report.failed) == [ETH]
        assert report.cancelled == {"BTCUSDC": 3}
        assert own_orders(sim, "BTCUSDC") == [] and len(own_orders(sim, ETH)) == 2
        sim.faults.error_storm(kind="unavailable", count=1)  # one failure: the retry succeeds
        report = await ops.cancel_all(rest, [ETH, "BTCUSDC"], backoff_s=0.01)
        assert report.ok and report.cancelled == {ETH: 2, "BTCUSDC": 0}
        assert own_orders(sim, ETH) == []


async def test_ops_flatten_cancels_everything_first_then_closes_in_chunks_and_verifies() -> None:
    async with (
        running_sim(symbols=[ETH, "BTCUSDC"], feed="manual", specs=SMALL_MARKET_MAX) as sim,
        _rest(sim, [ETH, "BTCUSDC"]) as (rest, filters),
    ):
        await _long(sim, rest, filters[ETH], 120)
        await _resting_orders(sim, rest, filters["BTCUSDC"], 2)
        results = await ops.flatten(rest, filters, [ETH, "BTCUSDC"], backoff_s=0.01)
        assert [(r.symbol, r.status) for r in results] == [(ETH, "closed"), ("BTCUSDC", "flat")]
        assert results[0].closed_qty == pytest.approx(0.12)
        assert own_position_steps(sim, ETH) == 0
        assert own_orders(sim, "BTCUSDC") == []
