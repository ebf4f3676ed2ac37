"""REST reconciliation: the exchange's truth about positions, open orders and the wallet as core events.

The runner calls this at start-up, from ``UserDataStream(on_reconnect=...)`` and periodically; the exchange
is the source of truth (lessons.md §1). Symbols absent from ``positionRisk`` are reported flat.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from phoenix.core.types import BalanceUpdated, Event, OrderUpdated, PositionSynced, SymbolFilters
from phoenix.exchange.binance import codec
from phoenix.exchange.binance.rest import BinanceRestClient

MAX_PER_SYMBOL_OPEN_ORDER_CALLS = 10  # beyond this, one all-symbol call (weight 40) is cheaper


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountSnapshot:
    """What the exchange reports right now for the traded symbols."""

    ts_ns: int
    positions: tuple[PositionSynced, ...]
    open_orders: tuple[OrderUpdated, ...]
    wallet_usdc: float

    def events(self) -> list[Event]:
        """As core events: positions, then open orders, then the wallet balance."""
        out: list[Event] = [*self.positions, *self.open_orders]
        out.append(BalanceUpdated(ts_ns=self.ts_ns, wallet_usdc=self.wallet_usdc))
        return out


async def fetch_account_snapshot(
    rest: BinanceRestClient,
    filters: Mapping[str, SymbolFilters],
    symbols: Sequence[str],
    *,
    margin_asset: str = "USDC",
) -> AccountSnapshot:
    """Positions (one-way), open orders and wallet of ``symbols`` from REST (weight ≈ 10 + symbols)."""
    now_ns = time.time_ns()
    wanted = set(symbols)
    rows = await rest.fetch_positions()
    by_symbol = {r.symbol: r for r in rows if r.symbol in wanted and r.positionSide in ("BOTH", "")}
    positions = tuple(
        codec.position_from_rest(by_symbol[s], filters[s])
        if s in by_symbol
        else PositionSynced(symbol=s, ts_ns=now_ns, qty_steps=0, entry_price=0.0)
        for s in symbols
    )
    if len(symbols) <= MAX_PER_SYMBOL_OPEN_ORDER_CALLS:
        orders = [o for s in symbols for o in await rest.fetch_open_orders(s)]
    else:
        orders = [o for o in await rest.fetch_open_orders() if o.symbol in wanted]
    open_orders = tuple(codec.order_updated_from_rest(o, filters[o.symbol], now_ns) for o in orders)
    account = await rest.fetch_account()
    wallet = next((a.walletBalance for a in account.assets if a.asset == margin_asset), 0.0)
    return AccountSnapshot(ts_ns=now_ns, positions=positions, open_orders=open_orders, wallet_usdc=wallet)
