"""Sends the Trader's actions to the exchange and turns every outcome back into core events.

Every intent is journalled before it is sent. Outcomes become ``OrderUpdated`` events fed back to the
symbol's worker: a confirmed ack is the exchange's order state, a rejection is ``REJECTED`` with the
Binance code, no answer is ``UNKNOWN`` and is resolved by querying the order by client id (never guessed).
A cancel answered ``-2011`` (already gone) is resolved the same way: the query tells filled or cancelled.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

from phoenix.core.types import (
    Action,
    CancelAll,
    CancelOrder,
    Event,
    Flatten,
    ModifyOrder,
    OrderStatus,
    OrderUpdated,
    PlaceOrder,
    Side,
    SymbolFilters,
)
from phoenix.errors import ExchangeError
from phoenix.exchange.binance.gateway import OrderGateway, OrderResult, Outcome
from phoenix.exchange.binance.rest import BinanceRestClient
from phoenix.log import get_logger
from phoenix.metrics import Metrics
from phoenix.persistence.ledger import Ledger
from phoenix.runner.flatten import FLATTEN_ATTEMPTS, RunnerIdGenerator, flatten_symbol
from phoenix.runner.stats import RunStats

log = get_logger(__name__)

Feed = Callable[[Event], None]
_CANCEL_GONE_CODES = frozenset({-2011, -2013})
_TERMINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED})
CANCEL_ALL_ATTEMPTS = 12


class ActionExecutor:
    """Executes actions concurrently (fire-and-forget tasks) and feeds outcomes back via ``feed``.

    Args:
        gateway: Order entry (WS API first, REST fallback).
        rest: REST client (cancel-all, positions for flatten).
        filters: Exchange filters by symbol.
        ledger: Journal (intents before sending).
        stats: Run figures.
        metrics: Prometheus metrics.
        feed: Puts an outcome event into the worker inbox of its symbol.
        now_ns: Clock for journal timestamps (server-corrected wall clock).
        on_cancel_all_failed: Called with the symbol when a cancel-all gave up (orders still live).
        place_settle_ms: How long after sending a place a "does not exist" (-2013) answer is not yet
            final: the request may still reach the matching engine until its ``recvWindow`` runs out
            (``global.recv_window_ms``).
        market_max_steps: MARKET order size cap per symbol (steps): flatten sends chunks of at most this.
        flatten_attempts: Close rounds of a ``Flatten`` before it gives up and alerts.
        on_flatten_failed: Called with the symbol when a flatten gave up (position still open).
    """

    def __init__(
        self,
        gateway: OrderGateway,
        rest: BinanceRestClient,
        filters: Mapping[str, SymbolFilters],
        ledger: Ledger,
        stats: RunStats,
        metrics: Metrics,
        feed: Feed,
        now_ns: Callable[[], int],
        on_cancel_all_failed: Callable[[str], None] | None = None,
        place_settle_ms: int = 5000,
        market_max_steps: Mapping[str, int] | None = None,
        flatten_attempts: int = FLATTEN_ATTEMPTS,
        on_flatten_failed: Callable[[str], None] | None = None,
    ) -> None:
        self.gateway = gateway
        self.market_max_steps = dict(market_max_steps or {})
        self.flatten_attempts = flatten_attempts
        self._on_flatten_failed = on_flatten_failed
        self.place_settle_s = place_settle_ms / 1000
        self._on_cancel_all_failed = on_cancel_all_failed
        self.rest = rest
        self.filters = dict(filters)
        self.ledger = ledger
        self.stats = stats
        self.metrics = metrics
        self._feed = feed
        self._now_ns = now_ns
        self._tasks: set[asyncio.Task[None]] = set()
        self._flatten_ids = RunnerIdGenerator("flat")
        self.accept_new_orders = True

    @property
    def in_flight(self) -> int:
        """Number of request tasks still running."""
        return len(self._tasks)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("order_task_failed", task=task.get_name(), error=repr(task.exception()))

    async def drain(self, timeout_s: float) -> None:
        """Wait (bounded) for every in-flight request task."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout_s)

    # ------------------------------------------------------------------ dispatch

    def submit(self, actions: Sequence[Action]) -> None:
        """Journal and send ``actions`` (one symbol or many); returns immediately.

        Actions of a symbol whose list holds a ``CancelAll``/``Flatten`` run in order in one task (nothing
        placed after a cancel-all may race it); otherwise requests go out concurrently (places batched).
        """
        barrier = {a.symbol for a in actions if isinstance(a, CancelAll | Flatten)}
        if barrier:
            ordered = [a for a in actions if a.symbol in barrier]
            for symbol in barrier:
                mine = [a for a in ordered if a.symbol == symbol]
                self._journal_counts(mine)
                self._spawn(self._sequential(mine), f"sequential:{symbol}")
            actions = [a for a in actions if a.symbol not in barrier]
            if not actions:
                return
        self._journal_counts(actions)
        places: list[PlaceOrder] = []
        for a in actions:
            if isinstance(a, PlaceOrder | ModifyOrder) and not self.accept_new_orders:
                continue  # shutting down: only cancels go out
            if isinstance(a, PlaceOrder):
                places.append(a)
            elif isinstance(a, CancelOrder):
                self._spawn(self._cancel(a), f"cancel:{a.client_order_id}")
            elif isinstance(a, ModifyOrder):
                self._spawn(self._modify(a), f"modify:{a.client_order_id}")
        if places:
            self._spawn(self._place_many(places), f"place:{places[0].symbol}:{len(places)}")

    def _journal_counts(self, actions: Sequence[Action]) -> None:
        now = self._now_ns()
        for a in actions:
            if isinstance(a, PlaceOrder | ModifyOrder) and not self.accept_new_orders:
                continue
            self.ledger.record_action(a, now)
            if isinstance(a, PlaceOrder):
                self.stats.symbols[a.symbol].orders_placed += 1
                self.metrics.symbols[a.symbol].orders_placed.inc()
            elif isinstance(a, CancelOrder | CancelAll):
                self.stats.add_cancels(a.symbol, 1, now)
                self.metrics.symbols[a.symbol].orders_cancelled.inc()

    async def _sequential(self, actions: list[Action]) -> None:
        """Run one symbol's actions strictly in order (cancel-all / flatten barriers)."""
        places: list[PlaceOrder] = []
        for a in actions:
            if isinstance(a, PlaceOrder):
                if self.accept_new_orders:
                    places.append(a)
                continue
            if places:
                await self._place_many(places)
                places = []
            if isinstance(a, CancelOrder):
                await self._cancel(a)
            elif isinstance(a, ModifyOrder):
                if self.accept_new_orders:
                    await self._modify(a)
            elif isinstance(a, CancelAll):
                await self._cancel_all(a)
            elif isinstance(a, Flatten):
                await self._flatten(a)
        if places:
            await self._place_many(places)

    # ------------------------------------------------------------------ outcomes

    def _on_error(self, result: OrderResult) -> None:
        self.stats.add_error(result.code)
        self.metrics.errors.labels(str(result.code) if result.code is not None else "none").inc()

    async def _place_many(self, places: list[PlaceOrder]) -> None:
        sent_s = time.monotonic()
        t0 = time.perf_counter()
        results = await self.gateway.place_many(places)
        self.metrics.order_round_trip.observe(time.perf_counter() - t0)
        unknown: list[PlaceOrder] = []
        for action, result in zip(places, results, strict=True):
            if self._after_place(action, result):
                unknown.append(action)
        if unknown:
            await asyncio.gather(*(self._resolve_place(a, sent_s) for a in unknown))

    def _after_place(self, action: PlaceOrder, result: OrderResult) -> bool:
        """Feed a place's outcome; True when it is unknown and must be resolved by querying."""
        if result.outcome is Outcome.CONFIRMED and result.order is not None:
            s = self.stats.symbols[action.symbol]
            s.orders_confirmed += 1
            s.placed_5m.add(time.time_ns())
            self._feed(result.order)
            return False
        if result.outcome is Outcome.REJECTED:
            self._on_error(result)
            self._feed(self._update(action, OrderStatus.REJECTED, result.code))
            return False
        self._on_error(result)
        self._feed(self._update(action, OrderStatus.UNKNOWN, result.code))
        return True

    async def _resolve_place(self, action: PlaceOrder, sent_s: float) -> None:
        """Resolve a place of unknown outcome by querying it.

        "Does not exist" (-2013) is only final once the request can no longer reach the matching engine
        (``place_settle_s`` after sending, the recvWindow): until then the order stays ``UNKNOWN`` (counted
        as live) and is queried again. A later report of the order re-opens it anyway (tracker rule).
        """
        while True:
            res = await self._query(action.symbol, action.client_order_id)
            if res is None:
                return  # stays UNKNOWN (counted as live); reconciliation queries it again
            if res.outcome is Outcome.CONFIRMED and res.order is not None:
                self._feed(res.order)
                return
            wait_s = sent_s + self.place_settle_s - time.monotonic()
            if wait_s <= 0:
                self._feed(self._update(action, OrderStatus.REJECTED, res.code))
                return
            log.info("place_not_found_yet", symbol=action.symbol, coid=action.client_order_id)
            await asyncio.sleep(min(wait_s + 0.05, 1.0))

    async def _query(self, symbol: str, client_order_id: str, attempts: int = 5) -> OrderResult | None:
        """The exchange's view of an order (CONFIRMED with its state, or REJECTED = it does not exist);
        None if every query failed."""
        delay = 0.2
        for _ in range(attempts):
            res = await self.gateway.query(symbol, client_order_id)
            if res.outcome is not Outcome.UNKNOWN:
                return res
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        log.error("order_unresolved", symbol=symbol, client_order_id=client_order_id)
        return None

    async def _settle_request(self, action: CancelOrder | ModifyOrder, code: int | None) -> None:
        """A cancel/amend without a clear answer: the queried state decides what happened.

        Terminal (filled/cancelled/expired) is a fact and fed as is; an open order whose state does not
        show the request done means the request did not happen: ``REJECTED`` puts the order back as it
        was (the tracker's rule), so the Trader can decide again. -2013 (the order does not exist) is
        terminal.
        """
        res = await self._query(action.symbol, action.client_order_id)
        if res is None:
            return  # stays pending; reconciliation settles it
        if res.outcome is not Outcome.CONFIRMED or res.order is None:
            self._feed(self._update(action, OrderStatus.REJECTED, res.code or -2013))
            return
        order = res.order
        if order.status in _TERMINAL:
            self._feed(order)
        elif isinstance(action, ModifyOrder) and (order.price_ticks, order.qty_steps) == (
            action.price_ticks,
            action.qty_steps,
        ):
            self._feed(order)  # the amendment did happen
        else:
            self._feed(self._update(action, OrderStatus.REJECTED, code))

    async def _cancel(self, action: CancelOrder) -> None:
        result = await self.gateway.cancel(action)
        if result.outcome is Outcome.CONFIRMED and result.order is not None:
            self._feed(result.order)
            return
        if result.outcome is Outcome.REJECTED and result.code not in _CANCEL_GONE_CODES:
            self._on_error(result)
            self._feed(self._update(action, OrderStatus.REJECTED, result.code))  # refused: as it was
            return
        if result.outcome is Outcome.UNKNOWN:
            self._on_error(result)
        # already gone (-2011: filled or cancelled meanwhile) or no answer: the exchange's state decides
        await self._settle_request(action, result.code)

    async def _modify(self, action: ModifyOrder) -> None:
        result = await self.gateway.modify(action)
        if result.outcome is Outcome.CONFIRMED and result.order is not None:
            self._feed(result.order)
            return
        self._on_error(result)
        if result.outcome is Outcome.REJECTED and result.code not in _CANCEL_GONE_CODES:
            self._feed(self._update(action, OrderStatus.REJECTED, result.code))  # refused: as it was
            return
        await self._settle_request(action, result.code)

    async def _cancel_all(self, action: CancelAll) -> None:
        """Cancel-all is a safety action: retried with backoff (≈ 10 s) before giving up."""
        delay = 0.25
        for attempt in range(CANCEL_ALL_ATTEMPTS):
            try:
                await self.rest.cancel_all_orders(action.symbol)
            except ExchangeError as exc:
                self.stats.add_error(exc.code)
                self.metrics.errors.labels(str(exc.code)).inc()
                log.error(
                    "cancel_all_failed",
                    symbol=action.symbol,
                    reason=action.reason,
                    attempt=attempt,
                    error=str(exc),
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            # per-order CANCELED updates arrive on the user stream; reconciliation covers a dead stream
            log.info("cancel_all_sent", symbol=action.symbol, reason=action.reason)
            return
        if self._on_cancel_all_failed is not None:
            self._on_cancel_all_failed(action.symbol)

    async def _flatten(self, action: Flatten) -> None:
        """Close the symbol's position until the exchange reports it flat (bounded; alert if not)."""
        f = self.filters[action.symbol]
        max_steps = self.market_max_steps.get(action.symbol) or int(f.max_qty / f.step_size)

        def on_error(code: int | None) -> None:
            self.stats.add_error(code)
            self.metrics.errors.labels(str(code) if code is not None else "none").inc()

        outcome = await flatten_symbol(
            self.rest,
            f,
            max_steps,
            self._flatten_ids,
            attempts=self.flatten_attempts,
            on_intent=lambda place: self.ledger.record_action(place, self._now_ns()),
            on_update=self._feed,
            on_error=on_error,
        )
        if outcome.flat:
            if outcome.closed_steps:
                qty = f.format_qty(outcome.closed_steps)
                log.warning("flattened", symbol=action.symbol, reason=action.reason, qty=qty)
            return
        self.metrics.errors.labels("flatten_incomplete").inc()
        log.critical(
            "flatten_failed_alert",
            symbol=action.symbol,
            reason=action.reason,
            attempts=outcome.attempts,
            remaining_steps=outcome.remaining_steps,
        )
        if self._on_flatten_failed is not None:
            self._on_flatten_failed(action.symbol)

    def _update(
        self, action: PlaceOrder | CancelOrder | ModifyOrder, status: OrderStatus, code: int | None
    ) -> OrderUpdated:
        side = action.side if isinstance(action, PlaceOrder | ModifyOrder) else Side.BUY
        price = action.price_ticks if isinstance(action, PlaceOrder | ModifyOrder) else 0
        qty = action.qty_steps if isinstance(action, PlaceOrder | ModifyOrder) else 0
        return OrderUpdated(
            symbol=action.symbol,
            ts_ns=self._now_ns(),
            client_order_id=action.client_order_id,
            status=status,
            side=side,
            price_ticks=price,
            qty_steps=qty,
            error_code=code,
        )
