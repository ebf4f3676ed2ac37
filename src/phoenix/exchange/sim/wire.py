"""Engine objects → Binance USDⓈ-M JSON (protocol doc §3, §6.2, §7).

Pure functions: they take engine views/events plus the symbol's filters (for exact decimal strings)
and return plain dicts ready for ``orjson.dumps``. Decimals are strings, ids/times integers.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from phoenix.core.types import OrderType, SymbolFilters
from phoenix.exchange.sim.ratelimit import RateLimits, exchange_info_rate_limits
from phoenix.exchange.sim.sim_types import (
    BookTickerPublished,
    DepthDiffPublished,
    DepthView,
    MarketView,
    MarkPricePublished,
    OrderView,
    TradePublished,
)
from phoenix.exchange.sim.symbols import SimSymbolSpec

Json = dict[str, Any]
USDC = "USDC"


def money(value: float) -> str:
    """USDC amount with 8 decimals (Binance's account/position precision)."""
    return f"{value:.8f}"


def price_str(filters: SymbolFilters, ticks: int | None) -> str:
    """Exact price string of a tick index (``"0"``-like when None)."""
    return filters.format_price(ticks or 0)


def qty_str(filters: SymbolFilters, steps: int) -> str:
    """Exact quantity string of a step count."""
    return filters.format_qty(steps)


def book_qty_str(filters: SymbolFilters, qty: float) -> str:
    """Market book quantity (float base units) with the symbol's qty decimals."""
    return f"{qty:.{filters.qty_decimals}f}"


def float_price_str(filters: SymbolFilters, price: float, extra_decimals: int = 0) -> str:
    """A computed (non-grid) price such as an average or mark price."""
    return f"{price:.{filters.price_decimals + extra_decimals}f}"


def levels(filters: SymbolFilters, rows: Iterable[tuple[int, float]]) -> list[list[str]]:
    """``[[price, qty], ...]`` string pairs."""
    pd = filters.price_decimals
    qd = filters.qty_decimals
    tick = filters.tick_size
    return [[f"{Decimal(p) * tick:.{pd}f}", f"{q:.{qd}f}"] for p, q in rows]


# --------------------------------------------------------------------------- exchangeInfo


def symbol_info(spec: SimSymbolSpec) -> Json:
    """One ``symbols[]`` entry of exchangeInfo."""
    f = spec.filters
    market_step = f.market_step_size or f.step_size
    return {
        "symbol": f.symbol,
        "pair": f.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": spec.onboard_date_ms,
        "status": "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": spec.base_asset,
        "quoteAsset": spec.quote_asset,
        "marginAsset": spec.margin_asset,
        "pricePrecision": f.price_decimals,
        "quantityPrecision": f.qty_decimals,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": ["Layer-1"],
        "settlePlan": 0,
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": str(spec.min_price), "maxPrice": str(spec.max_price),
             "tickSize": str(f.tick_size)},
            {"filterType": "LOT_SIZE", "minQty": str(f.min_qty), "maxQty": str(f.max_qty),
             "stepSize": str(f.step_size)},
            {"filterType": "MARKET_LOT_SIZE", "minQty": str(f.min_qty), "maxQty": str(spec.market_max_qty),
             "stepSize": str(market_step)},
            {"filterType": "MAX_NUM_ORDERS", "limit": spec.max_num_orders},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": str(f.min_notional)},
            {"filterType": "PERCENT_PRICE", "multiplierUp": f"{f.percent_up:.4f}",
             "multiplierDown": f"{f.percent_down:.4f}", "multiplierDecimal": "4"},
        ],
        "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET",
                       "TRAILING_STOP_MARKET"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
    }  # fmt: skip


def exchange_info(specs: Iterable[SimSymbolSpec], limits: RateLimits, server_ms: int) -> Json:
    """``GET /fapi/v1/exchangeInfo``."""
    return {
        "timezone": "UTC",
        "serverTime": server_ms,
        "futuresType": "U_MARGINED",
        "rateLimits": exchange_info_rate_limits(limits),
        "exchangeFilters": [],
        "assets": [
            {"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"},
            {"asset": "USDC", "marginAvailable": True, "autoAssetExchange": "-10000"},
        ],
        "symbols": [symbol_info(s) for s in specs],
    }


# --------------------------------------------------------------------------- market data


def depth(filters: SymbolFilters, view: DepthView) -> Json:
    """``GET /fapi/v1/depth``."""
    return {
        "lastUpdateId": view.last_update_id,
        "E": view.event_ms,
        "T": view.transaction_ms,
        "bids": levels(filters, view.bids),
        "asks": levels(filters, view.asks),
    }


def book_ticker(filters: SymbolFilters, m: MarketView) -> Json:
    """``GET /fapi/v1/ticker/bookTicker`` row."""
    return {
        "symbol": m.symbol,
        "bidPrice": price_str(filters, m.best_bid_ticks),
        "bidQty": book_qty_str(filters, m.best_bid_qty),
        "askPrice": price_str(filters, m.best_ask_ticks),
        "askQty": book_qty_str(filters, m.best_ask_qty),
        "time": m.time_ms,
        "lastUpdateId": m.last_update_id,
    }


def _last_price_ticks(m: MarketView) -> int:
    if m.last_price_ticks is not None:
        return m.last_price_ticks
    if m.best_bid_ticks is not None and m.best_ask_ticks is not None:
        return (m.best_bid_ticks + m.best_ask_ticks) // 2
    return m.best_bid_ticks or m.best_ask_ticks or 0


def ticker_price(filters: SymbolFilters, m: MarketView) -> Json:
    """``GET /fapi/v1/ticker/price`` row."""
    return {"symbol": m.symbol, "price": price_str(filters, _last_price_ticks(m)), "time": m.time_ms}


def ticker_24hr(filters: SymbolFilters, m: MarketView) -> Json:
    """``GET /fapi/v1/ticker/24hr`` row (the simulator keeps no 24 h statistics: last price throughout)."""
    last = price_str(filters, _last_price_ticks(m))
    return {
        "symbol": m.symbol, "priceChange": "0", "priceChangePercent": "0.000", "weightedAvgPrice": last,
        "lastPrice": last, "lastQty": book_qty_str(filters, m.last_qty), "openPrice": last, "highPrice": last,
        "lowPrice": last, "volume": "0", "quoteVolume": "0", "openTime": m.time_ms - 86_400_000,
        "closeTime": m.time_ms, "firstId": 0, "lastId": 0, "count": 0,
    }  # fmt: skip


def premium_index(m: MarketView) -> Json:
    """``GET /fapi/v1/premiumIndex`` row."""
    return {
        "symbol": m.symbol,
        "markPrice": f"{m.mark_price:.8f}",
        "indexPrice": f"{m.index_price:.8f}",
        "estimatedSettlePrice": f"{m.index_price:.8f}",
        "lastFundingRate": f"{m.funding_rate:.8f}",
        "interestRate": "0.00010000",
        "nextFundingTime": m.next_funding_ms,
        "time": m.time_ms,
    }


def depth_update(
    filters: SymbolFilters,
    symbol: str,
    first_id: int,
    last_id: int,
    prev_id: int,
    bids: Iterable[tuple[int, float]],
    asks: Iterable[tuple[int, float]],
    event_ms: int,
    transaction_ms: int,
) -> Json:
    """A ``depthUpdate`` stream payload (diff or partial)."""
    return {
        "e": "depthUpdate",
        "E": event_ms,
        "T": transaction_ms,
        "s": symbol,
        "U": first_id,
        "u": last_id,
        "pu": prev_id,
        "b": levels(filters, bids),
        "a": levels(filters, asks),
        "ps": symbol,
        "st": 1,
    }


def depth_diff_event(filters: SymbolFilters, ev: DepthDiffPublished, event_ms: int) -> Json:
    """A single engine diff as a ``depthUpdate`` payload."""
    return depth_update(
        filters, ev.symbol, ev.first_id, ev.last_id, ev.prev_id, ev.bids, ev.asks, event_ms, ev.event_ms
    )


def book_ticker_event(filters: SymbolFilters, ev: BookTickerPublished, event_ms: int) -> Json:
    """A ``bookTicker`` stream payload."""
    return {
        "e": "bookTicker",
        "u": ev.update_id,
        "E": event_ms,
        "T": ev.event_ms,
        "s": ev.symbol,
        "b": price_str(filters, ev.bid_ticks),
        "B": book_qty_str(filters, ev.bid_qty),
        "a": price_str(filters, ev.ask_ticks),
        "A": book_qty_str(filters, ev.ask_qty),
        "ps": ev.symbol,
        "st": 1,
    }


def trade_event(filters: SymbolFilters, ev: TradePublished, event_ms: int) -> Json:
    """A ``trade`` stream payload."""
    return {
        "e": "trade",
        "E": event_ms,
        "T": ev.event_ms,
        "s": ev.symbol,
        "t": ev.trade_id,
        "p": price_str(filters, ev.price_ticks),
        "q": book_qty_str(filters, ev.qty),
        "X": "MARKET",
        "m": ev.buyer_is_maker,
        "st": 1,
    }


def agg_trade_event(filters: SymbolFilters, ev: TradePublished, agg_id: int, event_ms: int) -> Json:
    """An ``aggTrade`` stream payload (one trade per aggregate)."""
    q = book_qty_str(filters, ev.qty)
    return {
        "e": "aggTrade",
        "E": event_ms,
        "s": ev.symbol,
        "a": agg_id,
        "p": price_str(filters, ev.price_ticks),
        "q": q,
        "nq": q,
        "f": ev.trade_id,
        "l": ev.trade_id,
        "T": ev.event_ms,
        "m": ev.buyer_is_maker,
        "st": 1,
    }


def mark_price_event(ev: MarkPricePublished, event_ms: int) -> Json:
    """A ``markPriceUpdate`` stream payload."""
    return {
        "e": "markPriceUpdate",
        "E": event_ms,
        "s": ev.symbol,
        "p": f"{ev.mark_price:.8f}",
        "ap": f"{ev.mark_price:.8f}",
        "i": f"{ev.index_price:.8f}",
        "P": f"{ev.index_price:.8f}",
        "r": f"{ev.funding_rate:.8f}",
        "T": ev.next_funding_ms,
        "st": 1,
    }


# --------------------------------------------------------------------------- orders and trades


def order(filters: SymbolFilters, o: OrderView, *, modify_id: int | None = None) -> Json:
    """The shared order object (§3.1): both ``time`` and ``cumQty`` are included."""
    executed = qty_str(filters, o.executed_qty_steps)
    is_market = o.order_type is OrderType.MARKET
    out: Json = {
        "orderId": o.order_id,
        "symbol": o.symbol,
        "status": o.status.value,
        "clientOrderId": o.client_order_id,
        "price": price_str(filters, 0 if is_market else o.price_ticks),
        "avgPrice": float_price_str(filters, o.avg_price, 3 if o.avg_price else 0),
        "origQty": qty_str(filters, o.orig_qty_steps),
        "executedQty": executed,
        "cumQty": executed,
        "cumQuote": f"{o.cum_quote_usdc:.5f}",
        "timeInForce": o.time_in_force.value,
        "type": o.order_type.value,
        "reduceOnly": o.reduce_only,
        "closePosition": False,
        "side": o.side.value,
        "positionSide": "BOTH",
        "stopPrice": price_str(filters, 0),
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "origType": o.order_type.value,
        "priceMatch": "NONE",
        "selfTradePreventionMode": o.stp_mode.value,
        "goodTillDate": 0,
        "time": o.time_ms,
        "updateTime": o.update_time_ms,
    }
    if modify_id is not None:
        out["pair"] = o.symbol
        out["modifyId"] = modify_id
    return out


def error(code: int, msg: str) -> Json:
    """The ``{"code", "msg"}`` error object."""
    return {"code": code, "msg": msg}
