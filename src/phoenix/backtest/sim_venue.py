"""Fill model ``sim``: the simulated exchange's own matching engine (``SimExchange``) as the backtest venue.

The very engine the loopback simulator (and so the live runner in ``venue: sim``) trades against matches
our orders here: its queue model (``conservative`` or ``proportional``), crossing, self-trade prevention,
filters and error codes. The backtester keeps its own money book (``Account``: same fee rates, Binance
realised-PnL rule), funding and sampling, and mirrors the engine's order reports into core events, so the
Trader sees exactly what the runner would see on the user stream.
"""

from __future__ import annotations

from collections.abc import Iterable

from phoenix.backtest.account import Account
from phoenix.backtest.venue import ERR_UNKNOWN_ORDER_CANCEL, SimOrder, SymbolVenue, VenueReport, _Ids
from phoenix.core.types import (
    Fill,
    OrderFilled,
    OrderStatus,
    OrderType,
    OrderUpdated,
    Side,
    SymbolFilters,
    TimeInForce,
)
from phoenix.exchange.sim.engine import SimExchange
from phoenix.exchange.sim.sim_types import (
    AccountId,
    ExecType,
    OrderRequest,
    OrderUpdatePublished,
    OrderView,
    SimError,
    SimEvent,
    SimOrderStatus,
)

NS_PER_MS = 1_000_000

_STATUS = {
    SimOrderStatus.NEW: OrderStatus.NEW,
    SimOrderStatus.PARTIALLY_FILLED: OrderStatus.PARTIALLY_FILLED,
    SimOrderStatus.FILLED: OrderStatus.FILLED,
    SimOrderStatus.CANCELED: OrderStatus.CANCELED,
    SimOrderStatus.EXPIRED: OrderStatus.EXPIRED,
    SimOrderStatus.EXPIRED_IN_MATCH: OrderStatus.EXPIRED,
}


class SimEngineVenue(SymbolVenue):
    """A ``SymbolVenue`` whose matching is done by a shared ``SimExchange``.

    Args:
        filters: Symbol filters.
        account: The backtest's money book.
        engine: The shared simulated exchange (one for all symbols).
        engine_account: Our account id in ``engine``.
        funding_rate: Fixed funding rate (None = recorded).
        ids: Shared id counters (unused for trade ids: the engine's are kept).
    """

    def __init__(
        self,
        filters: SymbolFilters,
        account: Account,
        *,
        engine: SimExchange,
        engine_account: AccountId,
        funding_rate: float | None = None,
        ids: _Ids | None = None,
    ) -> None:
        super().__init__(filters, account, funding_rate=funding_rate, ids=ids)
        self.engine = engine
        self.engine_account = engine_account

    # ------------------------------------------------------------------ engine events → core reports

    def _translate(self, events: Iterable[SimEvent], now_ns: int, report_ns: int) -> list[VenueReport]:
        out: list[VenueReport] = []
        for ev in events:
            if not isinstance(ev, OrderUpdatePublished) or ev.account != self.engine_account:
                continue
            if ev.order.symbol != self.symbol:
                continue
            self._on_order_event(ev, now_ns, report_ns, out)
        return out

    def _on_order_event(
        self, ev: OrderUpdatePublished, now_ns: int, report_ns: int, out: list[VenueReport]
    ) -> None:
        view = ev.order
        if ev.exec_type is ExecType.TRADE:
            if view.executed_qty_steps == ev.last_qty_steps:
                self.stats.orders_filled_any += 1  # the order's first fill
            price = ev.last_price_ticks * self.filters.tick
            fee, realized = self.account.apply_fill(
                self.symbol, view.side, price, ev.last_qty_steps, ev.maker
            )
            if ev.maker:
                self.stats.maker_fills += 1
            else:
                self.stats.taker_fills += 1
            fill = Fill(
                symbol=self.symbol,
                client_order_id=view.client_order_id,
                trade_id=ev.trade_id,
                side=view.side,
                price_ticks=ev.last_price_ticks,
                qty_steps=ev.last_qty_steps,
                maker=ev.maker,
                fee_usdc=fee,
                realized_pnl_usdc=realized,
                ts_ns=now_ns,
            )
            self.fill_mids[fill.trade_id] = self._ref_mid or self.last_mid
            out.append(OrderFilled(fill=fill, ts_ns=report_ns))
        status = _STATUS[view.status]
        self._mirror(view, status)
        out.append(self._view_update(view, status, report_ns))

    def _mirror(self, view: OrderView, status: OrderStatus) -> None:
        """Keep ``orders`` / the price index in step with the engine (used for sampling and counters)."""
        old = self.orders.get(view.client_order_id)
        if old is not None:
            self._unrest(old)
        if status in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED):
            self._rest(
                SimOrder(
                    coid=view.client_order_id,
                    exchange_id=view.order_id,
                    side=view.side,
                    price_ticks=view.price_ticks,
                    qty_steps=view.orig_qty_steps,
                    order_type=view.order_type,
                    tif=view.time_in_force,
                    reduce_only=view.reduce_only,
                    placed_ns=view.update_time_ms * NS_PER_MS,
                    filled_steps=view.executed_qty_steps,
                    status=status,
                )
            )
            self.done.pop(view.client_order_id, None)

    def _view_update(
        self, view: OrderView, status: OrderStatus, report_ns: int, error_code: int | None = None
    ) -> OrderUpdated:
        return OrderUpdated(
            symbol=self.symbol,
            ts_ns=report_ns,
            client_order_id=view.client_order_id,
            status=status,
            side=view.side,
            price_ticks=view.price_ticks,
            qty_steps=view.orig_qty_steps,
            filled_steps=view.executed_qty_steps,
            exchange_order_id=view.order_id,
            error_code=error_code,
        )

    def _rejected(
        self, coid: str, side: Side, price_ticks: int, qty_steps: int, code: int, report_ns: int
    ) -> OrderUpdated:
        return OrderUpdated(
            symbol=self.symbol,
            ts_ns=report_ns,
            client_order_id=coid,
            status=OrderStatus.REJECTED,
            side=side,
            price_ticks=price_ticks,
            qty_steps=qty_steps,
            error_code=code,
        )

    # ------------------------------------------------------------------ market data

    def _cross_fills(self, now_ns: int, report_ns: int, out: list[VenueReport]) -> None:
        """The engine fills crossed orders itself."""

    def on_snapshot(
        self,
        bids: Iterable[tuple[int, float]],
        asks: Iterable[tuple[int, float]],
        now_ns: int,
        report_ns: int,
    ) -> list[VenueReport]:
        """Replace the market book in the engine (and the local mirror used for mids)."""
        self._ref_mid = self.book.mid() or self.last_mid
        b, a = tuple(bids), tuple(asks)
        self.book.apply_snapshot(b, a, now_ns)
        out = self._translate(
            self.engine.apply_market_snapshot(self.symbol, b, a, now_ns // NS_PER_MS), now_ns, report_ns
        )
        self._after_book(now_ns, report_ns, out)
        return out

    def on_delta(
        self,
        bids: Iterable[tuple[int, float]],
        asks: Iterable[tuple[int, float]],
        now_ns: int,
        report_ns: int,
    ) -> list[VenueReport]:
        """Apply changed levels in the engine (it moves queues and fills crossed orders)."""
        self._ref_mid = self.book.mid() or self.last_mid
        b, a = tuple(bids), tuple(asks)
        self.book.apply_delta(b, a, now_ns)
        out = self._translate(
            self.engine.apply_market_delta(self.symbol, b, a, now_ns // NS_PER_MS), now_ns, report_ns
        )
        self._after_book(now_ns, report_ns, out)
        return out

    def on_trade(
        self, price_ticks: int, qty: float, aggressor: Side, now_ns: int, report_ns: int
    ) -> list[VenueReport]:
        """A market trade through the engine's queues."""
        self._ref_mid = self.book.mid() or self.last_mid
        events = self.engine.apply_market_trade(self.symbol, price_ticks, qty, aggressor, now_ns // NS_PER_MS)
        return self._translate(events, now_ns, report_ns)

    def on_mark(
        self, mark_price: float, funding_rate: float, next_funding_ms: int, now_ns: int, report_ns: int
    ) -> list[VenueReport]:
        """Mark price to the engine (price bands, margin) and to the backtest's funding."""
        out = super().on_mark(mark_price, funding_rate, next_funding_ms, now_ns, report_ns)
        events = self.engine.apply_mark_price(
            self.symbol,
            mark_price,
            funding_rate,
            next_funding_ms or self.next_funding_ns // NS_PER_MS,
            now_ns // NS_PER_MS,
        )
        out.extend(self._translate(events, now_ns, report_ns))
        return out

    # ------------------------------------------------------------------ trading

    def place(
        self,
        coid: str,
        side: Side,
        price_ticks: int,
        qty_steps: int,
        order_type: OrderType,
        tif: TimeInForce,
        reduce_only: bool,
        now_ns: int,
        report_ns: int,
    ) -> list[VenueReport]:
        """Place through the engine; its SimError becomes a REJECTED update with the same code."""
        self.stats.orders_placed += 1
        self._ref_mid = self.book.mid() or self.last_mid
        req = OrderRequest(
            symbol=self.symbol,
            side=side,
            qty_steps=qty_steps,
            price_ticks=price_ticks,
            order_type=order_type,
            time_in_force=tif,
            reduce_only=reduce_only,
            client_order_id=coid,
        )
        try:
            _, events = self.engine.place_order(self.engine_account, req, now_ns // NS_PER_MS)
        except SimError as exc:
            self.stats.orders_rejected += 1
            if exc.code == -5022:
                self.stats.post_only_rejects += 1
            return [self._rejected(coid, side, price_ticks, qty_steps, exc.code, report_ns)]
        return self._translate(events, now_ns, report_ns)

    def cancel(self, coid: str, now_ns: int, report_ns: int) -> list[VenueReport]:
        """Cancel through the engine; -2011 carries the order's final state when the engine knows it."""
        try:
            _, events = self.engine.cancel_order(
                self.engine_account, self.symbol, client_order_id=coid, now_ms=now_ns // NS_PER_MS
            )
        except SimError as exc:
            try:
                view = self.engine.get_order(self.engine_account, self.symbol, client_order_id=coid)
            except SimError:
                return [self._rejected(coid, Side.BUY, 0, 0, exc.code, report_ns)]
            return [self._view_update(view, _STATUS[view.status], report_ns, ERR_UNKNOWN_ORDER_CANCEL)]
        self.stats.cancels += 1
        return self._translate(events, now_ns, report_ns)

    def cancel_all(self, now_ns: int, report_ns: int) -> list[VenueReport]:
        """Cancel every open order of this symbol in the engine."""
        self.stats.cancels += len(self.orders)
        return self._translate(
            self.engine.cancel_all(self.engine_account, self.symbol, now_ns // NS_PER_MS), now_ns, report_ns
        )

    def modify(
        self, coid: str, price_ticks: int, qty_steps: int, now_ns: int, report_ns: int
    ) -> list[VenueReport]:
        """Amend in the engine (back of the queue); a refusal is a REJECTED update with the engine's code."""
        self.stats.modifies += 1
        self._ref_mid = self.book.mid() or self.last_mid
        mirror = self.orders.get(coid)
        try:
            _, events = self.engine.modify_order(
                self.engine_account,
                self.symbol,
                client_order_id=coid,
                side=mirror.side if mirror is not None else None,
                price_ticks=price_ticks,
                qty_steps=qty_steps,
                now_ms=now_ns // NS_PER_MS,
            )
        except SimError as exc:
            side = mirror.side if mirror is not None else Side.BUY
            return [self._rejected(coid, side, price_ticks, qty_steps, exc.code, report_ns)]
        return self._translate(events, now_ns, report_ns)
