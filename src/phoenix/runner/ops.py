"""Emergency and inspection operations over REST: cancel-all, flatten, status.

They work without the runner (e.g. after it died) and alongside it. Cancel-all tries every symbol (with
retries) and reports the ones that failed. Flatten is explicit and separate from stop: it cancels the
orders of every symbol first, then closes each position with reduce-only MARKET orders (chunks of at most
the MARKET_LOT_SIZE ``maxQty``, client ids ``phxr-ops-...``) and verifies it is flat
(:mod:`phoenix.runner.flatten`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from phoenix.core.types import SymbolFilters
from phoenix.errors import ExchangeError
from phoenix.exchange.binance.rest import BinanceRestClient
from phoenix.runner.account_rest import fetch_positions, fetch_wallet_usdc
from phoenix.runner.flatten import FLATTEN_ATTEMPTS, RunnerIdGenerator, fetch_market_max_steps, flatten_symbol

CANCEL_ATTEMPTS = 3


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


@dataclass(slots=True)
class CancelAllReport:
    """Outcome of ``cancel_all``: orders open before the cancel per symbol, and the symbols that failed."""

    cancelled: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every symbol was cancelled."""
        return not self.failed


async def cancel_all(
    rest: BinanceRestClient,
    symbols: Sequence[str],
    *,
    attempts: int = CANCEL_ATTEMPTS,
    backoff_s: float = 0.25,
) -> CancelAllReport:
    """Cancel every open order of each symbol; every symbol is tried (with retries) whatever the others do."""
    report = CancelAllReport()
    for symbol in symbols:
        delay = backoff_s
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
            try:
                open_orders = await rest.fetch_open_orders(symbol)
                await rest.cancel_all_orders(symbol)
            except ExchangeError as exc:
                report.failed[symbol] = str(exc)
                continue
            report.failed.pop(symbol, None)
            report.cancelled[symbol] = len(open_orders)
            break
    return report


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
    """Outcome of flattening one symbol: ``status`` is ``flat`` (nothing to do), ``closed`` or ``error``."""

    symbol: str
    closed_qty: float
    status: str
    error: str = ""


async def flatten(
    rest: BinanceRestClient,
    filters: Mapping[str, SymbolFilters],
    symbols: Sequence[str],
    *,
    attempts: int = FLATTEN_ATTEMPTS,
    backoff_s: float = 0.25,
) -> list[FlattenResult]:
    """Cancel the orders of every symbol first, then close each position with reduce-only MARKET orders
    of at most the symbol's MARKET_LOT_SIZE ``maxQty`` until the exchange reports it flat."""
    cancelled = await cancel_all(rest, symbols, backoff_s=backoff_s)
    max_steps = await fetch_market_max_steps(rest, filters)
    ids = RunnerIdGenerator("ops")
    results: list[FlattenResult] = []
    for symbol in symbols:
        f = filters[symbol]
        try:
            out = await flatten_symbol(
                rest, f, max_steps.get(symbol, 1), ids, attempts=attempts, backoff_s=backoff_s
            )
        except ExchangeError as exc:  # flatten_symbol handles exchange errors; this is a last resort
            results.append(FlattenResult(symbol, 0.0, "error", str(exc)))
            continue
        closed = f.steps_to_qty(out.closed_steps)
        if not out.flat:
            error = "; ".join(out.errors[-2:]) or f"position still {out.remaining_steps} steps"
            results.append(FlattenResult(symbol, closed, "error", error))
        elif symbol in cancelled.failed:
            results.append(FlattenResult(symbol, closed, "error", f"cancel-all: {cancelled.failed[symbol]}"))
        else:
            results.append(FlattenResult(symbol, closed, "closed" if out.orders else "flat"))
    return results
