"""Periodic REST reconciliation: the exchange is the truth for positions and open orders.

Each round compares the exchange with the Trader's view, symbol by symbol:
- open orders the exchange lists that we don't track (or track as something else) are fed as
  ``OrderUpdated`` (ours are adopted by the tracker; foreign ones are an unexplained mismatch);
- an order of ours the exchange lists as open but we hold as terminal (e.g. a timed-out place taken for
  rejected that landed after all) is an anomaly: its state is fed (the tracker re-opens it, so risk
  counts it) and it is cancelled;
- an open order whose price or size differs from ours (e.g. an amendment that landed after we reverted
  it) is fed: the exchange's values are adopted;
- orders we believe open that the exchange no longer lists are queried by client order id and the
  answer is fed (filled / cancelled are facts, not guesses);
- a position difference is first given a grace period (fills in flight on the user stream), then
  explained by backfilling our trades from REST (missed user-stream fills): after the backfill the
  reconciler waits until the symbol's worker has applied everything fed (``settle``) and fetches the
  positions again. Only a difference that survives two such confirmations is unexplained: cancel and
  halt that symbol, and adopt the exchange's position.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from phoenix.core.types import (
    Event,
    OrderFilled,
    OrderStatus,
    OrderUpdated,
    PositionSynced,
    Side,
    SymbolFilters,
)
from phoenix.errors import ExchangeError, UnknownOrderError
from phoenix.exchange.binance import codec
from phoenix.exchange.binance.rest import BinanceRestClient
from phoenix.execution.ids import is_own_order_id
from phoenix.execution.orders import ACTIONABLE, TERMINAL, LiveOrder
from phoenix.log import get_logger
from phoenix.runner.account_rest import fetch_positions, fetch_user_trades, fill_from_trade

log = get_logger(__name__)

MS_NS = 1_000_000
CONFIRMATIONS = 2  # a position difference must survive this many backfill + settle + re-fetch rounds


@dataclass(frozen=True, slots=True)
class Mismatch:
    """An unexplained difference found by reconciliation."""

    symbol: str
    kind: str  # "position" | "foreign_order"
    local: float
    exchange: float
    detail: str = ""


class TraderView:
    """What the reconciler needs to know about the Trader's state (kept narrow on purpose)."""

    def __init__(
        self,
        position_steps: Callable[[str], int],
        open_order_ids: Callable[[str], set[str]],
        in_flight_ids: Callable[[str], set[str]],
        seen_trade: Callable[[str, int], bool],
        coid_for_exchange_id: Callable[[int], str | None],
        order_of: Callable[[str, str], LiveOrder | None],
    ) -> None:
        self.position_steps = position_steps
        self.open_order_ids = open_order_ids
        self.in_flight_ids = in_flight_ids
        self.seen_trade = seen_trade
        self.coid_for_exchange_id = coid_for_exchange_id
        self.order_of = order_of


class Reconciler:
    """One reconciliation round per call to ``run_once``; feeds facts, reports unexplained mismatches."""

    def __init__(
        self,
        rest: BinanceRestClient,
        filters: Mapping[str, SymbolFilters],
        view: TraderView,
        feed: Callable[[Event], None],
        on_mismatch: Callable[[Mismatch], Awaitable[None]],
        *,
        grace_s: float = 1.0,
        started_ms: int = 0,
        cancel: Callable[[str, str], None] | None = None,
        settle: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        """``cancel(symbol, client_order_id)`` sends a cancel; ``settle(symbol)`` returns once the symbol's
        worker has applied every event fed so far (without it, one event-loop pass)."""
        self.rest = rest
        self.filters = dict(filters)
        self.view = view
        self._feed = feed
        self._on_mismatch = on_mismatch
        self.grace_s = grace_s
        self.started_ms = started_ms
        self.rounds = 0
        self.mismatches = 0
        self.backfilled_fills = 0
        self.orphans = 0  # own orders open at the exchange that we held as terminal
        self.order_corrections = 0  # open orders whose price/size we had wrong
        self._cancel = cancel
        self._settle = settle

    async def run_once(self) -> list[Mismatch]:
        """Reconcile every symbol once; returns the unexplained mismatches (already reported)."""
        self.rounds += 1
        found: list[Mismatch] = []
        for symbol in self.filters:
            await self._orders(symbol, found)
        await self._positions(found)
        for m in found:
            self.mismatches += 1
            await self._on_mismatch(m)
        return found

    async def _orders(self, symbol: str, found: list[Mismatch]) -> None:
        f = self.filters[symbol]
        in_flight = self.view.in_flight_ids(symbol)
        orders = await self.rest.fetch_open_orders(symbol)
        now_ns = time.time_ns()
        exchange_ids = set()
        for o in orders:
            exchange_ids.add(o.clientOrderId)
            if not is_own_order_id(o.clientOrderId):
                found.append(Mismatch(symbol, "foreign_order", 0.0, 1.0, o.clientOrderId))
                continue
            mine = self.view.order_of(symbol, o.clientOrderId)
            state = codec.order_updated_from_rest(o, f, now_ns)
            if mine is None or mine.status in (OrderStatus.UNKNOWN, OrderStatus.PENDING_NEW):
                # ours but unknown to the tracker (restart), of unknown outcome, or an ack that never
                # came: the exchange's state is the answer (adopted, then kept or cancelled by the diff)
                if mine is None or o.clientOrderId not in in_flight:
                    self._feed(state)
            elif mine.status is OrderStatus.PENDING_CANCEL and o.clientOrderId not in in_flight:
                # a cancel long in flight while the order is still open: it did not happen
                self._feed(_refused(mine, now_ns))
            elif mine.status is OrderStatus.PENDING_MODIFY and o.clientOrderId not in in_flight:
                done = (state.price_ticks, state.qty_steps) == (mine.price_ticks, mine.qty_steps)
                self._feed(state if done else _refused(mine, now_ns))
            elif mine.status in TERMINAL:
                # live at the exchange, gone for us: re-open it (risk counts it) and cancel it
                self.orphans += 1
                log.error(
                    "reconcile_orphan_order",
                    symbol=symbol,
                    coid=o.clientOrderId,
                    local_status=mine.status.value,
                    exchange_status=o.status,
                )
                self._feed(state)
                if self._cancel is not None:
                    self._cancel(symbol, o.clientOrderId)
            elif (
                mine.status in ACTIONABLE
                and o.clientOrderId not in in_flight
                and (state.price_ticks, state.qty_steps) != (mine.price_ticks, mine.qty_steps)
            ):
                self.order_corrections += 1
                log.warning(
                    "reconcile_order_differs",
                    symbol=symbol,
                    coid=o.clientOrderId,
                    local=(mine.price_ticks, mine.qty_steps),
                    exchange=(state.price_ticks, state.qty_steps),
                )
                self._feed(state)  # the tracker adopts the exchange's price and size
        known = self.view.open_order_ids(symbol)
        missing = [cid for cid in known if cid not in exchange_ids and cid not in in_flight]
        if missing:
            await asyncio.gather(*(self._query(symbol, cid) for cid in missing))

    async def _query(self, symbol: str, client_order_id: str) -> None:
        f = self.filters[symbol]
        try:
            o = await self.rest.fetch_order(symbol, client_order_id)
        except UnknownOrderError as exc:
            # -2013: the exchange has no such order; it cannot be live (a terminal fact)
            self._feed(
                OrderUpdated(
                    symbol=symbol,
                    ts_ns=time.time_ns(),
                    client_order_id=client_order_id,
                    status=OrderStatus.CANCELED,
                    side=Side.BUY,
                    price_ticks=0,
                    qty_steps=0,
                    error_code=exc.code,
                )
            )
            return
        except ExchangeError as exc:
            log.warning("reconcile_query_failed", symbol=symbol, coid=client_order_id, error=str(exc))
            return
        self._feed(codec.order_updated_from_rest(o, f, time.time_ns()))

    async def _positions(self, found: list[Mismatch]) -> None:
        exchange = await fetch_positions(self.rest, self.filters)
        differing = [s for s in self.filters if self._diff(s, exchange) != 0]
        for _ in range(CONFIRMATIONS):
            if not differing:
                return
            await asyncio.sleep(self.grace_s)  # fills may be in flight on the user stream
            for symbol in differing:
                await self._backfill(symbol)
            for symbol in differing:
                await self._settled(symbol)  # the worker has applied the backfilled fills
            exchange = await fetch_positions(self.rest, self.filters)  # fresh, after the backfill
            explained = [s for s in differing if self._diff(s, exchange) == 0]
            for symbol in explained:
                log.warning("reconcile_explained_by_backfill", symbol=symbol)
            differing = [s for s in differing if s not in explained]
        for symbol in differing:
            f = self.filters[symbol]
            ex = exchange.get(symbol)
            ex_steps = ex.qty_steps if ex is not None else 0
            found.append(
                Mismatch(
                    symbol,
                    "position",
                    f.steps_to_qty(self.view.position_steps(symbol)),
                    f.steps_to_qty(ex_steps),
                )
            )
            self._feed(
                ex
                if ex is not None
                else PositionSynced(symbol=symbol, ts_ns=time.time_ns(), qty_steps=0, entry_price=0.0)
            )

    async def _settled(self, symbol: str) -> None:
        if self._settle is not None:
            await self._settle(symbol)
        else:
            await asyncio.sleep(0)

    def _diff(self, symbol: str, exchange: Mapping[str, PositionSynced]) -> int:
        ex = exchange.get(symbol)
        return (ex.qty_steps if ex is not None else 0) - self.view.position_steps(symbol)

    async def _backfill(self, symbol: str) -> None:
        f = self.filters[symbol]
        try:
            trades = await fetch_user_trades(self.rest, symbol, self.started_ms)
        except ExchangeError as exc:
            log.warning("reconcile_backfill_failed", symbol=symbol, error=str(exc))
            return
        for t in trades:
            if self.view.seen_trade(symbol, t.id):
                continue
            coid = self.view.coid_for_exchange_id(t.orderId) or f"order-{t.orderId}"
            fill = fill_from_trade(t, f, coid)
            self.backfilled_fills += 1
            self._feed(OrderFilled(fill=fill, ts_ns=fill.ts_ns))


def _refused(order: LiveOrder, now_ns: int) -> OrderUpdated:
    """``REJECTED`` for a request in flight: the tracker puts the order back as it was."""
    return OrderUpdated(
        symbol=order.symbol,
        ts_ns=now_ns,
        client_order_id=order.client_order_id,
        status=OrderStatus.REJECTED,
        side=order.side,
        price_ticks=order.price_ticks,
        qty_steps=order.qty_steps,
    )
