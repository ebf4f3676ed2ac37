"""Emergency and inspection operations over REST: cancel-all, flatten, status.

They work without the runner (e.g. after it died) and alongside it. Flatten is explicit and separate
from stop: it sends reduce-only MARKET orders for the whole position of each symbol.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from phoenix.core.types import OrderType, PlaceOrder, Side, SymbolFilters, TimeInForce
from phoenix.errors import ExchangeError
from phoenix.exchange.binance import codec
from phoenix.exchange.binance.rest import BinanceRestClient
from phoenix.runner.account_rest import fetch_positions, fetch_wallet_usdc


@dataclass(slots=True)
class SymbolStatus:
    """Exchange-side view of one symbol."""

    symbol: str
    position: float = 0.0
    entry_price: float = 0.0
    open_bids: int = 0
    open_asks: int = 0


@dataclass(slots=True)
class AccountStatus:
    """Exchange-side view of the account."""

    wallet_usdc: float
    symbols: dict[str, SymbolStatus] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "wallet_usdc": self.wallet_usdc,
            "symbols": {
                s.symbol: {
                    "position": s.position,
                    "entry_price": s.entry_price,
                    "open_bids": s.open_bids,
                    "open_asks": s.open_asks,
                }
                for s in self.symbols.values()
            },
        }


async def cancel_all(rest: BinanceRestClient, symbols: Sequence[str]) -> dict[str, int]:
    """Cancel every open order of each symbol; returns how many were open per symbol."""
    out: dict[str, int] = {}
    for symbol in symbols:
        open_orders = await rest.fetch_open_orders(symbol)
        await rest.cancel_all_orders(symbol)
        out[symbol] = len(open_orders)
    return out


async def account_status(
    rest: BinanceRestClient, filters: Mapping[str, SymbolFilters], symbols: Sequence[str]
) -> AccountStatus:
    """Wallet, positions and open order counts from the exchange."""
    status = AccountStatus(wallet_usdc=await fetch_wallet_usdc(rest))
    positions = await fetch_positions(rest, filters)
    for symbol in symbols:
        f = filters[symbol]
        st = SymbolStatus(symbol)
        p = positions.get(symbol)
        if p is not None:
            st.position = f.steps_to_qty(p.qty_steps)
            st.entry_price = p.entry_price
        for o in await rest.fetch_open_orders(symbol):
            if o.side == "BUY":
                st.open_bids += 1
            else:
                st.open_asks += 1
        status.symbols[symbol] = st
    return status


@dataclass(frozen=True, slots=True)
class FlattenResult:
    """Outcome of flattening one symbol."""

    symbol: str
    closed_qty: float
    status: str
    error: str = ""


async def flatten(
    rest: BinanceRestClient, filters: Mapping[str, SymbolFilters], symbols: Sequence[str]
) -> list[FlattenResult]:
    """Cancel quotes, then close each position with a reduce-only MARKET order (one per symbol)."""
    results: list[FlattenResult] = []
    positions = await fetch_positions(rest, filters)
    for i, symbol in enumerate(symbols):
        await rest.cancel_all_orders(symbol)
        pos = positions.get(symbol)
        if pos is None or pos.qty_steps == 0:
            results.append(FlattenResult(symbol, 0.0, "flat"))
            continue
        f = filters[symbol]
        side = Side.SELL if pos.qty_steps > 0 else Side.BUY
        action = PlaceOrder(
            symbol=symbol,
            client_order_id=f"phoenix-flat-{symbol[:8]}-{time.time_ns() // 1_000_000}-{i}"[:36],
            side=side,
            price_ticks=0,
            qty_steps=abs(pos.qty_steps),
            order_type=OrderType.MARKET,
            time_in_force=TimeInForce.GTC,
            reduce_only=True,
        )
        try:
            resp = await rest.place_order(codec.place_params(action, f))
            results.append(FlattenResult(symbol, f.steps_to_qty(abs(pos.qty_steps)), resp.status))
        except ExchangeError as exc:
            results.append(FlattenResult(symbol, 0.0, "error", str(exc)))
    return results
