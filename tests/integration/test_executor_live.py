"""The runner's ActionExecutor against the loopback simulator: unknown outcomes are resolved, not guessed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.adapter.conftest import sim_endpoints_of
from tests.integration.runner_helpers import wait_for

from phoenix.core.types import Event, OrderStatus, OrderUpdated, PlaceOrder, Side, TimeInForce
from phoenix.exchange.binance import codec
from phoenix.exchange.binance.gateway import OrderGateway
from phoenix.exchange.binance.rest import BinanceRestClient
from phoenix.exchange.binance.signing import HmacSigner
from phoenix.exchange.sim.server import SimServer
from phoenix.exchange.sim.testing import running_sim
from phoenix.metrics import Metrics
from phoenix.persistence.ledger import Ledger
from phoenix.runner.executor import ActionExecutor
from phoenix.runner.stats import RunStats

pytestmark = pytest.mark.timeout(60)
SYM = "ETHUSDC"


@dataclass
class Rig:
    """A running simulator and an executor wired to it (outcomes collected in ``fed``)."""

    sim: SimServer
    rest: BinanceRestClient
    executor: ActionExecutor
    fed: list[Event]


@contextlib.asynccontextmanager
async def _rig(tmp_path: Path, place_settle_ms: int) -> AsyncIterator[Rig]:
    async with (
        running_sim(symbols=[SYM], feed="manual") as sim,
        _executor_rig(sim, tmp_path, place_settle_ms) as rig,
    ):
        yield rig


@contextlib.asynccontextmanager
async def _executor_rig(sim: SimServer, tmp_path: Path, place_settle_ms: int) -> AsyncIterator[Rig]:
    endpoints = sim_endpoints_of(sim)
    signer = HmacSigner(sim.api_key, sim.api_secret)
    rest = BinanceRestClient(endpoints, signer, recv_window_ms=place_settle_ms)
    await rest.start()
    filters = await rest.fetch_exchange_filters([SYM])
    gateway = OrderGateway(endpoints, rest, signer, filters)
    await gateway.start(wait_ready_s=5.0)
    ledger = Ledger(
        tmp_path / "ledger.sqlite", venue="sim", symbols=[SYM], started_ns=time.time_ns(), pid=os.getpid()
    )
    fed: list[Event] = []
    executor = ActionExecutor(
        gateway,
        rest,
        filters,
        ledger,
        RunStats([SYM], time.time_ns()),
        Metrics([SYM]),
        fed.append,
        time.time_ns,
        place_settle_ms=place_settle_ms,
    )
    try:
        yield Rig(sim, rest, executor, fed)
    finally:
        await executor.drain(5.0)
        await gateway.close()
        await rest.close()
        ledger.close()


def _bid(sim: SimServer, cid: str) -> PlaceOrder:
    book = sim.engine.depth(SYM, 5, sim.now_ms())
    return PlaceOrder(
        symbol=SYM,
        client_order_id=cid,
        side=Side.BUY,
        price_ticks=int(book.bids[-1][0]) - 50,
        qty_steps=10,
        time_in_force=TimeInForce.GTX,
    )


def _states(fed: list[Event], cid: str) -> list[OrderStatus]:
    return [e.status for e in fed if isinstance(e, OrderUpdated) and e.client_order_id == cid]


async def test_a_timed_out_place_that_lands_late_is_not_concluded_rejected(tmp_path: Path) -> None:
    async with _rig(tmp_path, place_settle_ms=1500) as rig:
        sim = rig.sim
        action = _bid(sim, "phoenix-test-late-1")
        # the place is answered 503 -1007 without reaching the engine: outcome unknown
        sim.faults.error_storm(kind="unknown", count=1)
        rig.executor.submit([action])
        await wait_for(lambda: OrderStatus.UNKNOWN in _states(rig.fed, action.client_order_id), 5)
        await asyncio.sleep(0.3)  # the executor's first query (-2013) has happened by now
        assert OrderStatus.REJECTED not in _states(rig.fed, action.client_order_id)
        # the delayed request reaches the matching engine within its recvWindow
        f = rig.executor.filters[SYM]
        await rig.rest.place_order(codec.place_params(action, f))
        await wait_for(lambda: OrderStatus.NEW in _states(rig.fed, action.client_order_id), 5)
        assert OrderStatus.REJECTED not in _states(rig.fed, action.client_order_id)
        assert [o.client_order_id for o in sim.engine.open_orders(sim.account_id(), SYM)] == [
            action.client_order_id
        ]


async def test_a_place_that_never_lands_is_rejected_after_the_settle_window(tmp_path: Path) -> None:
    async with _rig(tmp_path, place_settle_ms=800) as rig:
        sim = rig.sim
        action = _bid(sim, "phoenix-test-lost-1")
        sim.faults.error_storm(kind="unknown", count=1)
        t0 = time.monotonic()
        rig.executor.submit([action])
        await wait_for(lambda: OrderStatus.REJECTED in _states(rig.fed, action.client_order_id), 5)
        assert time.monotonic() - t0 >= 0.8
        assert _states(rig.fed, action.client_order_id) == [OrderStatus.UNKNOWN, OrderStatus.REJECTED]
