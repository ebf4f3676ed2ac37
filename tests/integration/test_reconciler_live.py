"""The Reconciler against the loopback simulator, with a deliberately slow consumer of what it feeds.

The consumer applies fed events to a real ``OrderTracker`` and a position 0.2 s after they were fed (a
busy symbol worker); ``settle`` is its queue's join, the barrier the runner provides.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest
from tests.adapter.conftest import sim_endpoints_of

from phoenix.core.types import (
    Event,
    OrderFilled,
    OrderStatus,
    OrderUpdated,
    PlaceOrder,
    PositionSynced,
    Side,
    SymbolFilters,
)
from phoenix.exchange.binance import codec
from phoenix.exchange.binance.rest import BinanceRestClient
from phoenix.exchange.binance.signing import HmacSigner
from phoenix.exchange.sim.server import SimServer
from phoenix.exchange.sim.testing import running_sim
from phoenix.execution.orders import OrderTracker
from phoenix.runner.reconcile import Mismatch, Reconciler, TraderView

pytestmark = pytest.mark.timeout(60)
SYM = "ETHUSDC"
APPLY_DELAY_S = 0.2


class SlowBook:
    """Applies fed events to a tracker and a position, each ``APPLY_DELAY_S`` after it was fed."""

    def __init__(self) -> None:
        self.tracker = OrderTracker(int(time.time() * 1000))
        self.position_steps = 0
        self.trades: set[int] = set()
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        self.cancels: list[str] = []
        self._task = asyncio.get_running_loop().create_task(self._run())

    def feed(self, event: Event) -> None:
        self.queue.put_nowait(event)

    async def settle(self, symbol: str) -> None:
        await asyncio.wait_for(self.queue.join(), 10)

    async def _run(self) -> None:
        while True:
            event = await self.queue.get()
            await asyncio.sleep(APPLY_DELAY_S)
            if isinstance(event, OrderUpdated):
                self.tracker.on_update(event)
            elif isinstance(event, OrderFilled) and event.fill.trade_id not in self.trades:
                self.trades.add(event.fill.trade_id)
                sign = 1 if event.fill.side is Side.BUY else -1
                self.position_steps += sign * event.fill.qty_steps
                self.tracker.on_fill(event.fill)
            elif isinstance(event, PositionSynced):
                self.position_steps = event.qty_steps
            self.queue.task_done()

    def view(self) -> TraderView:
        return TraderView(
            position_steps=lambda s: self.position_steps,
            open_order_ids=lambda s: {o.client_order_id for o in self.tracker.iter_open(s)},
            in_flight_ids=lambda s: set(),
            seen_trade=lambda s, t: t in self.trades,
            coid_for_exchange_id=lambda i: None,
            order_of=lambda s, c: self.tracker.get(c, s),
        )

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@contextlib.asynccontextmanager
async def _rig() -> AsyncIterator[tuple[SimServer, BinanceRestClient, SymbolFilters, SlowBook, Reconciler]]:
    async with running_sim(symbols=[SYM], feed="manual") as sim:
        rest = BinanceRestClient(sim_endpoints_of(sim), HmacSigner(sim.api_key, sim.api_secret))
        await rest.start()
        filters = await rest.fetch_exchange_filters([SYM])
        book = SlowBook()
        mismatches: list[Mismatch] = []

        async def on_mismatch(m: Mismatch) -> None:
            mismatches.append(m)

        def cancel(symbol: str, coid: str) -> None:
            book.cancels.append(coid)

        reconciler = Reconciler(
            rest,
            filters,
            book.view(),
            book.feed,
            on_mismatch,
            grace_s=0.1,
            cancel=cancel,
            settle=book.settle,
        )
        try:
            yield sim, rest, filters[SYM], book, reconciler
        finally:
            await book.stop()
            await rest.close()


def _far_bid(sim: SimServer, book: SlowBook, qty_steps: int = 10) -> PlaceOrder:
    best = int(sim.engine.depth(SYM, 5, sim.now_ms()).bids[0][0])
    return book.tracker.place(
        symbol=SYM, side=Side.BUY, price_ticks=best - 40, qty_steps=qty_steps, layer=0, now_ns=time.time_ns()
    )


async def test_a_fill_backfilled_through_a_slow_worker_is_not_a_mismatch() -> None:
    async with _rig() as (sim, rest, f, book, reconciler):
        bid = _far_bid(sim, book)
        await rest.place_order(codec.place_params(bid, f))
        sim.apply_trade(SYM, bid.price_ticks, 1.0, Side.SELL)  # filled; the stream never told us
        found = await reconciler.run_once()
        assert found == []
        assert reconciler.backfilled_fills == 1
        assert book.position_steps == 10


async def test_an_unexplained_position_difference_is_reported_after_two_confirmations() -> None:
    async with _rig() as (_sim, _rest, _f, book, reconciler):
        book.position_steps = 7  # we believe a position the exchange does not have
        t0 = time.monotonic()
        found = await reconciler.run_once()
        assert [(m.kind, m.local, m.exchange) for m in found] == [("position", 0.007, 0.0)]
        assert time.monotonic() - t0 >= 2 * 0.1  # two grace periods: two confirmations
        await book.settle(SYM)
        assert book.position_steps == 0  # the exchange's position is adopted


async def test_an_own_order_open_at_the_exchange_but_terminal_for_us_is_reopened_and_cancelled() -> None:
    async with _rig() as (sim, rest, f, book, reconciler):
        bid = _far_bid(sim, book)
        cid = bid.client_order_id
        # the place timed out and a query said "does not exist" ... then the request landed after all
        book.tracker.on_update(_up(bid, OrderStatus.UNKNOWN))
        book.tracker.on_update(_up(bid, OrderStatus.REJECTED, error_code=-2013))
        await rest.place_order(codec.place_params(bid, f))
        assert book.tracker.exposure_steps(SYM) == (0, 0)
        await reconciler.run_once()
        await book.settle(SYM)
        assert reconciler.orphans == 1
        assert book.cancels == [cid]
        order = book.tracker.get(cid, SYM)
        assert order is not None and order.status is OrderStatus.NEW
        assert book.tracker.exposure_steps(SYM) == (10, 0)  # risk counts it until the cancel lands


async def test_an_amendment_that_landed_after_a_revert_is_adopted() -> None:
    async with _rig() as (sim, rest, f, book, reconciler):
        bid = _far_bid(sim, book)
        cid = bid.client_order_id
        ack = await rest.place_order(codec.place_params(bid, f))
        book.tracker.on_update(codec.order_updated_from_rest(ack, f, time.time_ns()))
        # the exchange has the amended order; we reverted the amendment (its answer was lost)
        await rest.modify_order(
            {
                "symbol": SYM,
                "origClientOrderId": cid,
                "side": "BUY",
                "quantity": f.format_qty(30),
                "price": f.format_price(bid.price_ticks),
            }
        )
        order = book.tracker.get(cid, SYM)
        assert order is not None and order.qty_steps == 10
        await reconciler.run_once()
        await book.settle(SYM)
        assert reconciler.order_corrections == 1
        assert order.qty_steps == 30 and book.tracker.exposure_steps(SYM) == (30, 0)


def _up(a: PlaceOrder, status: OrderStatus, **kw: object) -> OrderUpdated:
    return OrderUpdated(
        symbol=a.symbol,
        ts_ns=time.time_ns(),
        client_order_id=a.client_order_id,
        status=status,
        side=a.side,
        price_ticks=a.price_ticks,
        qty_steps=a.qty_steps,
        **kw,  # type: ignore[arg-type]
    )
