"""REST reads of account facts the runner needs beyond the adapter's client: wallet, trades, funding income.

Thin typed wrappers over ``BinanceRestClient.request`` (same limiter, signing and error mapping).
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from phoenix.core.types import Fill, PositionSynced, Side, SymbolFilters
from phoenix.exchange.binance import codec
from phoenix.exchange.binance.rest import BinanceRestClient

MS_NS = 1_000_000


class UserTrade(msgspec.Struct):
    """``GET /fapi/v1/userTrades`` row (subset)."""

    symbol: str
    id: int
    orderId: int
    side: str
    price: str
    qty: str
    realizedPnl: str = "0"
    commission: str = "0"
    commissionAsset: str = "USDC"
    time: int = 0
    maker: bool = False


class IncomeRow(msgspec.Struct):
    """``GET /fapi/v1/income`` row (subset)."""

    symbol: str = ""
    incomeType: str = ""
    income: str = "0"
    asset: str = "USDC"
    time: int = 0
    tranId: int = 0


async def fetch_wallet_usdc(rest: BinanceRestClient, asset: str = "USDC") -> float:
    """Wallet balance of the margin asset (``GET /fapi/v3/balance``)."""
    for row in await rest.fetch_balances():
        if row.asset == asset:
            return float(row.balance)
    return 0.0


async def fetch_positions(
    rest: BinanceRestClient, filters: Mapping[str, SymbolFilters]
) -> dict[str, PositionSynced]:
    """Exchange positions of the given symbols (absent rows = flat), as ``PositionSynced`` events."""
    out: dict[str, PositionSynced] = {}
    for row in await rest.fetch_positions():
        f = filters.get(row.symbol)
        if f is not None and row.positionSide in ("BOTH", ""):
            out[row.symbol] = codec.position_from_rest(row, f)
    return out


async def fetch_user_trades(
    rest: BinanceRestClient, symbol: str, start_ms: int, limit: int = 1000, max_pages: int = 20
) -> list[UserTrade]:
    """Our trades of ``symbol`` since ``start_ms``, oldest first (pages of ``limit`` via ``fromId``)."""
    out: list[UserTrade] = []
    params: dict[str, str | int | bool] = {"symbol": symbol, "startTime": start_ms, "limit": limit}
    for _ in range(max_pages):
        body = await rest.request("GET", "/fapi/v1/userTrades", params, signed=True, weight=5)
        page = msgspec.json.decode(body, type=list[UserTrade], strict=False)
        out.extend(page)
        if len(page) < limit:
            break
        params = {"symbol": symbol, "fromId": page[-1].id + 1, "limit": limit}  # fromId excludes times
    return out


def fill_from_trade(trade: UserTrade, f: SymbolFilters, client_order_id: str) -> Fill:
    """A REST trade as a core ``Fill`` (the client order id comes from the order it belongs to)."""
    return Fill(
        symbol=trade.symbol,
        client_order_id=client_order_id,
        trade_id=trade.id,
        side=Side(trade.side),
        price_ticks=f.price_to_ticks(float(trade.price)),
        qty_steps=f.qty_to_steps(float(trade.qty), exact=True),
        maker=trade.maker,
        fee_usdc=float(trade.commission),
        realized_pnl_usdc=float(trade.realizedPnl),
        ts_ns=trade.time * MS_NS,
    )


async def fetch_funding_income(rest: BinanceRestClient, start_ms: int, limit: int = 1000) -> list[IncomeRow]:
    """Funding payments since ``start_ms`` (``GET /fapi/v1/income``, weight 30: not for loops)."""
    body = await rest.request(
        "GET",
        "/fapi/v1/income",
        {"incomeType": "FUNDING_FEE", "startTime": start_ms, "limit": limit},
        signed=True,
        weight=30,
    )
    return msgspec.json.decode(body, type=list[IncomeRow], strict=False)
