"""Market-data operations of the simulator API (depth, tickers, premium index, funding, trades).

``EngineOps`` is the shared base of the operation mixins: the engine and symbol filter look-ups.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from phoenix.core.types import SymbolFilters
from phoenix.exchange.sim import wire
from phoenix.exchange.sim.engine import SimExchange
from phoenix.exchange.sim.params import Params, invalid, missing, opt_int, require, time_window
from phoenix.exchange.sim.sim_types import SimError

Json = Any


class EngineOps:
    """Base of the operation mixins: holds the engine."""

    engine: SimExchange

    def filters(self, symbol: str | None) -> SymbolFilters:
        """Filters of a symbol; ``-1121`` if unknown (or ``-1102`` if absent)."""
        if not symbol:
            raise missing("symbol")
        try:
            return self.engine.spec(symbol.upper()).filters
        except KeyError:
            raise SimError(-1121, "Invalid symbol.") from None

    def all_filters(self) -> dict[str, SymbolFilters]:
        """Filters of every symbol."""
        return {s: self.engine.spec(s).filters for s in self.engine.symbols}


class MarketDataOps(EngineOps):
    """Public market-data endpoints."""

    def depth(self, p: Params, now_ms: int) -> Json:
        """``GET /fapi/v1/depth``."""
        symbol = require(p, "symbol").upper()
        filters = self.filters(symbol)
        limit = opt_int(p, "limit") or 500
        if not 1 <= limit <= 1000:  # lenient: Binance documents 5/10/20/50/100/500/1000
            raise invalid("limit")
        view = self.engine.depth(symbol, limit, now_ms)
        return wire.depth(filters, dataclasses.replace(view, event_ms=now_ms))

    def _market_rows(self, p: Params, render: Callable[[SymbolFilters, Any], Json]) -> Json:
        symbol = (p.get("symbol") or "").upper()
        if symbol:
            return render(self.filters(symbol), self.engine.market(symbol))
        return [render(self.filters(s), self.engine.market(s)) for s in self.engine.symbols]

    def book_ticker(self, p: Params) -> Json:
        """``GET /fapi/v1/ticker/bookTicker``."""
        return self._market_rows(p, wire.book_ticker)

    def ticker_price(self, p: Params) -> Json:
        """``GET /fapi/v1/ticker/price`` and ``/fapi/v2/ticker/price``."""
        return self._market_rows(p, wire.ticker_price)

    def ticker_24hr(self, p: Params) -> Json:
        """``GET /fapi/v1/ticker/24hr``."""
        return self._market_rows(p, wire.ticker_24hr)

    def premium_index(self, p: Params) -> Json:
        """``GET /fapi/v1/premiumIndex``."""
        return self._market_rows(p, lambda _f, m: wire.premium_index(m))

    def funding_rate(self, p: Params) -> Json:
        """``GET /fapi/v1/fundingRate``."""
        symbol = (p.get("symbol") or "").upper()
        symbols = [symbol] if symbol else list(self.engine.symbols)
        rows = []
        for sym in symbols:
            self.filters(sym)
            rows.extend(self.engine.funding_history(sym))
        rows.sort(key=lambda r: r.funding_time_ms)
        rows = time_window(rows, p, lambda r: r.funding_time_ms, 100, 1000)
        return [
            {"symbol": r.symbol, "fundingTime": r.funding_time_ms, "fundingRate": f"{r.funding_rate:.8f}",
             "markPrice": f"{r.mark_price:.8f}", "rateType": "Regular"}
            for r in rows
        ]  # fmt: skip

    def funding_info(self) -> Json:
        """``GET /fapi/v1/fundingInfo``."""
        return [
            {"symbol": s, "adjustedFundingRateCap": "0.02000000", "adjustedFundingRateFloor": "-0.02000000",
             "fundingIntervalHours": 8, "disclaimer": False}
            for s in self.engine.symbols
        ]  # fmt: skip

    def recent_trades(self, p: Params) -> Json:
        """``GET /fapi/v1/trades``."""
        symbol = require(p, "symbol").upper()
        filters = self.filters(symbol)
        limit = max(1, min(opt_int(p, "limit") or 500, 1000))
        return [
            {"id": t.trade_id, "price": wire.price_str(filters, t.price_ticks),
             "qty": wire.book_qty_str(filters, t.qty),
             "quoteQty": f"{filters.ticks_to_price(t.price_ticks) * t.qty:.8f}", "time": t.time_ms,
             "isBuyerMaker": t.buyer_is_maker}
            for t in self.engine.recent_trades(symbol, limit)
        ]  # fmt: skip

    def agg_trades(self, p: Params) -> Json:
        """``GET /fapi/v1/aggTrades`` (one public trade per aggregate; ``fromId``/time window/limit)."""
        symbol = require(p, "symbol").upper()
        filters = self.filters(symbol)
        limit = max(1, min(opt_int(p, "limit") or 500, 1000))
        trades = self.engine.recent_trades(symbol, 1000)
        from_id = opt_int(p, "fromId")
        if from_id is not None:
            trades = [t for t in trades if t.trade_id >= from_id][:limit]
        else:
            trades = time_window(trades, p, lambda t: t.time_ms, limit, limit)
        return [
            {"a": t.trade_id, "p": wire.price_str(filters, t.price_ticks),
             "q": wire.book_qty_str(filters, t.qty), "f": t.trade_id, "l": t.trade_id, "T": t.time_ms,
             "m": t.buyer_is_maker}
            for t in trades
        ]  # fmt: skip
