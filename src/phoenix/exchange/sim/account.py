"""Accounts of the simulated exchange: USDC wallet, one-way positions, fees, funding, margin.

Single-asset cross margin in USDC. Initial margin per symbol = |position| × mark / leverage plus the
margin of open orders that would increase exposure: ``max(bids − short notional, asks − long
notional, 0) / leverage``. Maintenance margin uses the symbol's maintenance ratio.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from phoenix.core.types import Side
from phoenix.exchange.sim.matching import OwnOrder
from phoenix.exchange.sim.sim_types import (
    AccountId,
    IncomeRecord,
    PositionChange,
    UserTrade,
)


@dataclass(slots=True)
class PositionState:
    """Mutable one-way position of one symbol."""

    qty_steps: int = 0
    entry_price: float = 0.0
    cum_realized_pnl_usdc: float = 0.0
    update_time_ms: int = 0


@dataclass(slots=True)
class SymbolOrders:
    """Open-order bookkeeping of one account on one symbol."""

    by_client_id: dict[str, OwnOrder] = field(default_factory=dict)
    bid_notional_usdc: float = 0.0
    ask_notional_usdc: float = 0.0


class Account:
    """One simulated account (identified by an API key)."""

    __slots__ = (
        "api_key",
        "closed",
        "closed_by_client_id",
        "countdown_deadline_ms",
        "id",
        "income",
        "leverage",
        "max_closed_orders",
        "open",
        "orders",
        "positions",
        "trades",
        "update_time_ms",
        "wallet_usdc",
    )

    def __init__(
        self, account_id: AccountId, api_key: str, balance_usdc: float, max_closed_orders: int = 100_000
    ) -> None:
        self.id = account_id
        self.api_key = api_key
        self.wallet_usdc = balance_usdc
        self.positions: dict[str, PositionState] = {}
        self.leverage: dict[str, int] = {}
        self.orders: dict[int, OwnOrder] = {}  # open orders and the most recent closed ones, by order id
        self.closed: deque[int] = deque()  # closed order ids, oldest first
        self.closed_by_client_id: dict[tuple[str, str], OwnOrder] = {}  # (symbol, id) → latest closed
        self.max_closed_orders = max_closed_orders
        self.open: dict[str, SymbolOrders] = {}
        self.trades: dict[str, list[UserTrade]] = {}
        self.income: list[IncomeRecord] = []
        self.countdown_deadline_ms: dict[str, int] = {}
        self.update_time_ms = 0

    # ------------------------------------------------------------------ orders

    def symbol_orders(self, symbol: str) -> SymbolOrders:
        """Open-order bookkeeping of ``symbol`` (created on demand)."""
        so = self.open.get(symbol)
        if so is None:
            so = self.open[symbol] = SymbolOrders()
        return so

    def track_open(self, order: OwnOrder, tick: float, step: float) -> None:
        """Register a newly accepted order as open."""
        self.orders[order.order_id] = order
        so = self.symbol_orders(order.symbol)
        so.by_client_id[order.client_order_id] = order
        self._add_notional(so, order, order.remaining_steps, tick, step)

    def untrack_open(self, order: OwnOrder, tick: float, step: float) -> None:
        """Remove a no longer open order (its remaining notional) from the open set."""
        so = self.symbol_orders(order.symbol)
        if so.by_client_id.get(order.client_order_id) is order:
            del so.by_client_id[order.client_order_id]
            self._add_notional(so, order, -order.remaining_steps, tick, step)
        if not so.by_client_id:
            so.bid_notional_usdc = 0.0
            so.ask_notional_usdc = 0.0

    def retire(self, order: OwnOrder) -> None:
        """Note a final order; the oldest closed orders beyond ``max_closed_orders`` are forgotten (-2013)."""
        self.closed.append(order.order_id)
        self.closed_by_client_id[(order.symbol, order.client_order_id)] = order
        while len(self.closed) > self.max_closed_orders:
            old = self.orders.pop(self.closed.popleft(), None)
            if old is not None:
                key = (old.symbol, old.client_order_id)
                if self.closed_by_client_id.get(key) is old:
                    del self.closed_by_client_id[key]

    def order_filled(self, order: OwnOrder, steps: int, tick: float, step: float) -> None:
        """Reduce the open notional of an order by ``steps`` just filled (call while it is still open)."""
        so = self.symbol_orders(order.symbol)
        if so.by_client_id.get(order.client_order_id) is order:
            self._add_notional(so, order, -steps, tick, step)

    @staticmethod
    def _add_notional(so: SymbolOrders, order: OwnOrder, steps: int, tick: float, step: float) -> None:
        if order.price_ticks <= 0:
            return  # market orders never rest
        notional = order.price_ticks * tick * steps * step
        if order.side is Side.BUY:
            so.bid_notional_usdc = max(0.0, so.bid_notional_usdc + notional)
        else:
            so.ask_notional_usdc = max(0.0, so.ask_notional_usdc + notional)

    # ------------------------------------------------------------------ fills and funding

    def position(self, symbol: str) -> PositionState:
        """Position of ``symbol`` (created flat on demand)."""
        pos = self.positions.get(symbol)
        if pos is None:
            pos = self.positions[symbol] = PositionState()
        return pos

    def apply_fill(
        self,
        symbol: str,
        side: Side,
        price_ticks: int,
        steps: int,
        tick: float,
        step: float,
        fee_rate: float,
        now_ms: int,
    ) -> tuple[float, float]:
        """Book one fill into position and wallet; returns (realized_pnl_usdc, commission_usdc).

        One-way mode: a fill against the position realises PnL on the closed part at the entry
        price; an increase averages the entry price; a flip opens the remainder at the fill price.
        """
        pos = self.position(symbol)
        price = price_ticks * tick
        signed = steps if side is Side.BUY else -steps
        q = pos.qty_steps
        realized = 0.0
        if q == 0 or (q > 0) == (signed > 0):
            total = abs(q) + steps
            pos.entry_price = (pos.entry_price * abs(q) + price * steps) / total
            pos.qty_steps = q + signed
        else:
            closed = min(steps, abs(q))
            direction = 1.0 if q > 0 else -1.0
            realized = closed * step * (price - pos.entry_price) * direction
            new_q = q + signed
            pos.qty_steps = new_q
            if new_q == 0:
                pos.entry_price = 0.0
            elif (new_q > 0) != (q > 0):
                pos.entry_price = price
        commission = price * steps * step * fee_rate
        pos.cum_realized_pnl_usdc += realized
        pos.update_time_ms = now_ms
        self.wallet_usdc += realized - commission
        self.update_time_ms = now_ms
        return realized, commission

    def apply_funding(self, symbol: str, mark_price: float, rate: float, step: float, now_ms: int) -> float:
        """Settle funding on the position: ``wallet += −qty × mark × rate``; returns the amount (signed)."""
        pos = self.positions.get(symbol)
        if pos is None or pos.qty_steps == 0:
            return 0.0
        amount = -pos.qty_steps * step * mark_price * rate
        self.wallet_usdc += amount
        self.update_time_ms = now_ms
        return amount

    def position_change(self, symbol: str, mark_price: float, step: float) -> PositionChange:
        """ACCOUNT_UPDATE ``P`` row of ``symbol``."""
        pos = self.position(symbol)
        return PositionChange(
            symbol=symbol,
            qty_steps=pos.qty_steps,
            entry_price=pos.entry_price,
            cum_realized_pnl_usdc=pos.cum_realized_pnl_usdc,
            unrealized_pnl_usdc=unrealized_pnl(pos, mark_price, step),
        )

    # ------------------------------------------------------------------ margin

    def margin_of(
        self,
        symbol: str,
        mark_price: float,
        step: float,
        extra_bid_usdc: float = 0.0,
        extra_ask_usdc: float = 0.0,
    ) -> tuple[float, float]:
        """(position initial margin, open-order initial margin) of ``symbol`` in USDC."""
        lev = self.leverage.get(symbol, 20)
        pos = self.positions.get(symbol)
        q = pos.qty_steps if pos is not None else 0
        pos_notional = abs(q) * step * mark_price
        so = self.open.get(symbol)
        bids = (so.bid_notional_usdc if so is not None else 0.0) + extra_bid_usdc
        asks = (so.ask_notional_usdc if so is not None else 0.0) + extra_ask_usdc
        long_n = pos_notional if q > 0 else 0.0
        short_n = pos_notional if q < 0 else 0.0
        order_notional = max(bids - short_n, asks - long_n, 0.0)
        return pos_notional / lev, order_notional / lev


def unrealized_pnl(pos: PositionState, mark_price: float, step: float) -> float:
    """Unrealised PnL of a position at ``mark_price`` (0 when flat or without a mark)."""
    if pos.qty_steps == 0 or mark_price <= 0.0:
        return 0.0
    return pos.qty_steps * step * (mark_price - pos.entry_price)
