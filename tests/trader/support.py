"""Helpers for trader-level tests: real ETHUSDC filters, configs, and a tiny in-test exchange.

``Venue`` answers the trader's actions like an exchange would (acknowledgements, cancels, fills of resting
orders) and feeds the answers back as events. It is a counterparty, not a mock of our classes.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from phoenix.config import PhoenixConfig
from phoenix.core.types import (
    Action,
    CancelAll,
    CancelOrder,
    Event,
    Fill,
    Flatten,
    MarketDataStatus,
    ModifyOrder,
    OrderFilled,
    OrderStatus,
    OrderUpdated,
    PlaceOrder,
    Side,
    SymbolFilters,
    TimerFired,
    TopOfBook,
)
from phoenix.trader.trader import Decision, Trader

NS = 1_000_000_000
T0 = 1_763_974_800 * NS  # 2025-11-24T09:00:00Z


def eth_filters(symbol: str = "ETHUSDC") -> SymbolFilters:
    """ETHUSDC's real filters: tick 0.01, step 0.001, min qty 0.001, min notional 20."""
    return SymbolFilters(
        symbol=symbol,
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.001"),
        min_qty=Decimal("0.001"),
        min_notional=Decimal("20"),
    )


def make_config(
    symbols: tuple[str, ...] = ("ETHUSDC",), global_: dict[str, Any] | None = None, **sym: Any
) -> PhoenixConfig:
    """A config with the given symbols (same per-symbol overrides for each)."""
    data: dict[str, Any] = {
        "global": global_ or {},
        "symbols": [{"symbol": s, "net_max": 2.0, **sym} for s in symbols],
    }
    return PhoenixConfig.model_validate(data)


class Venue:
    """An in-test exchange for the trader: keeps its own book of our orders and answers actions."""

    def __init__(self, trader: Trader, *, auto_ack: bool = True) -> None:
        self.trader = trader
        self.auto_ack = auto_ack
        self.orders: dict[str, PlaceOrder] = {}  # resting at the "exchange": cid -> order (current price/qty)
        self.filled: dict[str, int] = {}
        self.pending: list[Event] = []  # answers not yet delivered (when auto_ack is False)
        self.actions: list[Action] = []
        self.reports: list[object] = []
        self.trade_ids = itertools.count(1)
        self.now_ns = T0

    # --- driving
    def send(self, event: Event) -> Decision:
        """Deliver one event, execute the resulting actions, deliver the answers (if auto_ack)."""
        self.now_ns = max(self.now_ns, event.ts_ns)
        d = self.trader.on_event(event)
        self._execute(d)
        if self.auto_ack:
            self.flush()
        return d

    def flush(self) -> None:
        """Deliver every pending answer (and the answers to what they trigger)."""
        while self.pending:
            ev = self.pending.pop(0)
            d = self.trader.on_event(ev)
            self._execute(d)

    def _execute(self, d: Decision) -> None:
        self.actions.extend(d.actions)
        self.reports.extend(d.reports)
        ts = self.now_ns
        for a in d.actions:
            if isinstance(a, PlaceOrder):
                self.orders[a.client_order_id] = a
                self.filled[a.client_order_id] = 0
                self.pending.append(self._update(a, OrderStatus.NEW, ts))
            elif isinstance(a, ModifyOrder):
                old = self.orders.get(a.client_order_id)
                if old is None:
                    self.pending.append(
                        OrderUpdated(
                            symbol=a.symbol,
                            ts_ns=ts,
                            client_order_id=a.client_order_id,
                            status=OrderStatus.REJECTED,
                            side=a.side,
                            price_ticks=0,
                            qty_steps=0,
                            error_code=-2011,
                        )
                    )
                    continue
                new = PlaceOrder(
                    symbol=a.symbol,
                    client_order_id=a.client_order_id,
                    side=a.side,
                    price_ticks=a.price_ticks,
                    qty_steps=a.qty_steps,
                    layer=old.layer,
                )
                self.orders[a.client_order_id] = new
                self.pending.append(self._update(new, OrderStatus.NEW, ts))
            elif isinstance(a, CancelOrder):
                old = self.orders.pop(a.client_order_id, None)
                if old is None:
                    o = self.trader.orders.get(a.client_order_id, a.symbol)
                    self.pending.append(
                        OrderUpdated(
                            symbol=a.symbol,
                            ts_ns=ts,
                            client_order_id=a.client_order_id,
                            status=OrderStatus.REJECTED,
                            side=o.side if o else old_side(),
                            price_ticks=0,
                            qty_steps=0,
                            error_code=-2011,
                        )
                    )
                else:
                    self.pending.append(self._update(old, OrderStatus.CANCELED, ts))
            elif isinstance(a, CancelAll):
                for cid, o in list(self.orders.items()):
                    if o.symbol == a.symbol:
                        del self.orders[cid]
                        self.pending.append(self._update(o, OrderStatus.CANCELED, ts))

    def _update(self, o: PlaceOrder, status: OrderStatus, ts: int) -> OrderUpdated:
        return OrderUpdated(
            symbol=o.symbol,
            ts_ns=ts,
            client_order_id=o.client_order_id,
            status=status,
            side=o.side,
            price_ticks=o.price_ticks,
            qty_steps=o.qty_steps,
            filled_steps=self.filled.get(o.client_order_id, 0),
        )

    def fill(
        self, cid: str, qty_steps: int, *, ts_ns: int | None = None, price_ticks: int | None = None
    ) -> Decision:
        """Fill (part of) a resting order and deliver the fill + order update."""
        o = self.orders[cid]
        ts = ts_ns if ts_ns is not None else self.now_ns
        left = o.qty_steps - self.filled[cid]
        qty = min(qty_steps, left)
        self.filled[cid] += qty
        fill = Fill(
            symbol=o.symbol,
            client_order_id=cid,
            trade_id=next(self.trade_ids),
            side=o.side,
            price_ticks=price_ticks if price_ticks is not None else o.price_ticks,
            qty_steps=qty,
            maker=True,
            fee_usdc=0.0,
            realized_pnl_usdc=0.0,
            ts_ns=ts,
        )
        status = OrderStatus.FILLED if self.filled[cid] >= o.qty_steps else OrderStatus.PARTIALLY_FILLED
        if status is OrderStatus.FILLED:
            del self.orders[cid]
        d = self.send(OrderFilled(fill=fill, ts_ns=ts))
        self.send(self._update(o, status, ts))
        return d

    # --- market
    def book(self, symbol: str, bid_ticks: int, ts_ns: int, spread_ticks: int = 1) -> Decision:
        """A top-of-book update."""
        return self.send(
            TopOfBook(
                symbol=symbol,
                ts_ns=ts_ns,
                bid_ticks=bid_ticks,
                bid_qty=5.0,
                ask_ticks=bid_ticks + spread_ticks,
                ask_qty=5.0,
            )
        )

    def timer(self, ts_ns: int) -> Decision:
        """A timer tick."""
        return self.send(TimerFired(ts_ns=ts_ns))

    def start(self, symbol: str, bid_ticks: int, ts_ns: int = T0) -> Decision:
        """Mark market data in sync and deliver a first book."""
        self.send(MarketDataStatus(symbol=symbol, ts_ns=ts_ns, in_sync=True))
        return self.book(symbol, bid_ticks, ts_ns)

    def resting(self, symbol: str, side: object | None = None) -> list[PlaceOrder]:
        """Our orders resting at the venue."""
        return [o for o in self.orders.values() if o.symbol == symbol and (side is None or o.side == side)]

    def flattens(self) -> list[Flatten]:
        """Flatten actions seen so far."""
        return [a for a in self.actions if isinstance(a, Flatten)]


def old_side() -> Any:
    """Side placeholder for a cancel of an order nobody knows."""
    return Side.BUY
