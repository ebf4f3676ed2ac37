"""Request-level operations shared by the REST API and the WebSocket API of the simulator.

Each operation takes the authenticated account, the request parameters as strings (REST form/query
values, or ws-fapi JSON values normalised with :func:`normalise_params`) and the server time, calls the
engine, publishes the resulting events and returns the Binance JSON answer. Rejections raise
``SimError`` with Binance's code; the transport layer turns them into its error shape.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from phoenix.core.types import OrderType, Side, SymbolFilters, TimeInForce
from phoenix.exchange.sim import wire
from phoenix.exchange.sim.engine import SimExchange
from phoenix.exchange.sim.sim_types import (
    AccountId,
    FeeSchedule,
    OrderRequest,
    OrderView,
    SimError,
    SimEvent,
    SimOrderStatus,
    StpMode,
)
from phoenix.exchange.sim.symbols import wire_price_to_ticks, wire_qty_to_steps

Params = dict[str, str]
Json = Any
CONDITIONAL_TYPES = frozenset(
    {"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"}
)
PRICE_MATCH_MODES = frozenset(
    {"OPPONENT", "OPPONENT_5", "OPPONENT_10", "OPPONENT_20", "QUEUE", "QUEUE_5", "QUEUE_10", "QUEUE_20"}
)
MAX_BATCH_ORDERS = 5
MAX_BATCH_CANCELS = 10


def normalise_params(raw: Mapping[str, object]) -> Params:
    """JSON-typed params (ws-fapi, batch items) → the string form REST would carry."""
    out: Params = {}
    for key, value in raw.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, list | dict):
            out[key] = orjson.dumps(value).decode()
        else:
            out[key] = str(value)
    return out


def missing(name: str) -> SimError:
    """``-1102`` for a missing mandatory parameter."""
    return SimError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def invalid(name: str) -> SimError:
    """``-1130`` for an invalid parameter value."""
    return SimError(-1130, f"Data sent for parameter '{name}' is not valid.")


def require(p: Params, name: str) -> str:
    """The value of a mandatory parameter."""
    value = p.get(name)
    if value is None or value == "":
        raise missing(name)
    return value


def opt_int(p: Params, name: str) -> int | None:
    """An optional integer parameter (``-1130`` if malformed)."""
    value = p.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise invalid(name) from None


def parse_bool(p: Params, name: str) -> bool:
    """``"true"``/``"false"`` (case-insensitive); absent = false."""
    value = p.get(name)
    if value is None or value == "":
        return False
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise invalid(name)
    return lowered == "true"


def parse_json_list(p: Params, *names: str) -> list[Any] | None:
    """The first present JSON-array parameter among ``names`` (``-1130`` if not a JSON array)."""
    for name in names:
        value = p.get(name)
        if value is None or value == "":
            continue
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise invalid(name) from None
        if not isinstance(parsed, list):
            raise invalid(name)
        return parsed
    return None


def _window(
    items: list[Any], p: Params, time_of: Callable[[Any], int], default_limit: int, max_limit: int
) -> list[Any]:
    start = opt_int(p, "startTime")
    end = opt_int(p, "endTime")
    limit = opt_int(p, "limit") or default_limit
    limit = max(1, min(limit, max_limit))
    if start is not None:
        items = [x for x in items if time_of(x) >= start]
    if end is not None:
        items = [x for x in items if time_of(x) <= end]
    if start is not None:
        return items[:limit]
    return items[-limit:]


@dataclasses.dataclass(frozen=True, slots=True)
class Leverage:
    """Result of a leverage change (published as ACCOUNT_CONFIG_UPDATE by the caller)."""

    symbol: str
    leverage: int


class TradingApi:
    """Operations of the exchange API on top of a :class:`SimExchange`.

    Args:
        engine: The matching engine.
        publish: Called with the engine events each mutating operation produced (before it returns).
        publish_private: Called with (account, payload) for user-stream events the engine does not produce.
        fees: Fee schedule (served by ``commissionRate``).
    """

    def __init__(
        self,
        engine: SimExchange,
        publish: Callable[[list[SimEvent]], None],
        publish_private: Callable[[AccountId, dict[str, Any]], None],
        fees: FeeSchedule,
    ) -> None:
        self.engine = engine
        self._publish = publish
        self._publish_private = publish_private
        self._fees = fees

    # ------------------------------------------------------------------ helpers

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

    def _order_json(self, view: OrderView, modify_id: int | None = None) -> Json:
        return wire.order(self.filters(view.symbol), view, modify_id=modify_id)

    def _ids(self, p: Params) -> tuple[int | None, str | None]:
        order_id = opt_int(p, "orderId")
        client_id = p.get("origClientOrderId") or None
        if order_id is None and client_id is None:
            raise SimError(
                -1102, "Param 'orderId' or 'origClientOrderId' must be sent, but both were empty/null!"
            )
        return order_id, client_id

    def _price_match(self, symbol: str, side: Side, mode: str) -> int:
        if mode not in PRICE_MATCH_MODES:
            raise SimError(-5037, "Invalid price match")
        kind, _, level_text = mode.partition("_")
        level = int(level_text) if level_text else 1
        book = self.engine.depth(symbol, 20)
        own_side = book.bids if side is Side.BUY else book.asks
        other_side = book.asks if side is Side.BUY else book.bids
        rows = other_side if kind == "OPPONENT" else own_side
        if len(rows) < level:
            raise SimError(-5041, "No depth matches this BBO order")
        return rows[level - 1][0]

    # ------------------------------------------------------------------ orders

    def parse_new_order(self, p: Params) -> OrderRequest:
        """Validate wire params of a new order into an engine request (binance codes on error)."""
        symbol = require(p, "symbol").upper()
        filters = self.filters(symbol)
        side_text = require(p, "side").upper()
        if side_text not in ("BUY", "SELL"):
            raise SimError(-1117, "Invalid side.")
        side = Side(side_text)
        type_text = require(p, "type").upper()
        if type_text in CONDITIONAL_TYPES:
            raise SimError(
                -4120,
                "Order type not supported for this endpoint. "
                "Please use the Algo Order API endpoints instead.",
            )
        if type_text not in ("LIMIT", "MARKET"):
            raise SimError(-1116, "Invalid orderType.")
        order_type = OrderType(type_text)
        position_side = p.get("positionSide", "BOTH").upper()
        if position_side != "BOTH":
            raise SimError(-4061, "Order's position side does not match user's setting.")
        if parse_bool(p, "closePosition"):
            raise SimError(-1106, "Parameter 'closePosition' sent when not required.")
        qty_steps = wire_qty_to_steps(filters, require(p, "quantity"))
        price_ticks = 0
        tif = TimeInForce.GTC
        if order_type is OrderType.LIMIT:
            tif_text = require(p, "timeInForce").upper()
            if tif_text not in TimeInForce.__members__:
                raise SimError(-1115, "Invalid timeInForce.")
            tif = TimeInForce(tif_text)
            match_mode = p.get("priceMatch", "NONE").upper()
            if match_mode != "NONE":
                if p.get("price"):
                    raise SimError(-1106, "Parameter 'price' sent when not required.")
                price_ticks = self._price_match(symbol, side, match_mode)
            else:
                price_ticks = wire_price_to_ticks(filters, require(p, "price"))
        elif p.get("timeInForce") and p["timeInForce"].upper() not in TimeInForce.__members__:
            raise SimError(-1115, "Invalid timeInForce.")
        stp_text = p.get("selfTradePreventionMode", StpMode.EXPIRE_MAKER.value).upper()
        if stp_text not in StpMode.__members__:
            raise SimError(-5039, "Invalid self trade prevention mode")
        return OrderRequest(
            symbol=symbol,
            side=side,
            qty_steps=qty_steps,
            price_ticks=price_ticks,
            order_type=order_type,
            time_in_force=tif,
            reduce_only=parse_bool(p, "reduceOnly"),
            client_order_id=p.get("newClientOrderId") or None,
            stp_mode=StpMode(stp_text),
        )

    def place(self, account: AccountId, p: Params, now_ms: int) -> Json:
        """``POST /fapi/v1/order`` / ``order.place``."""
        req = self.parse_new_order(p)
        resp_type = p.get("newOrderRespType", "ACK").upper()
        if resp_type not in ("ACK", "RESULT"):
            raise invalid("newOrderRespType")
        view, events = self.engine.place_order(account, req, now_ms)
        self._publish(events)
        if resp_type == "ACK":
            view = dataclasses.replace(
                view, status=SimOrderStatus.NEW, executed_qty_steps=0, cum_quote_usdc=0.0, avg_price=0.0
            )
        return self._order_json(view)

    def modify(self, account: AccountId, p: Params, now_ms: int) -> Json:
        """``PUT /fapi/v1/order`` / ``order.modify``."""
        symbol = require(p, "symbol").upper()
        filters = self.filters(symbol)
        order_id, client_id = self._ids(p)
        side_text = require(p, "side").upper()
        if side_text not in ("BUY", "SELL"):
            raise SimError(-1117, "Invalid side.")
        side = Side(side_text)
        qty_steps = wire_qty_to_steps(filters, require(p, "quantity"))
        match_mode = p.get("priceMatch", "NONE").upper()
        if match_mode != "NONE":
            price_ticks = self._price_match(symbol, side, match_mode)
        else:
            price_ticks = wire_price_to_ticks(filters, require(p, "price"))
        view, events = self.engine.modify_order(
            account, symbol, order_id=order_id, client_order_id=client_id, side=side,
            price_ticks=price_ticks, qty_steps=qty_steps, now_ms=now_ms,
        )  # fmt: skip
        self._publish(events)
        modify_id = opt_int(p, "modifyId")
        return self._order_json(view, modify_id=modify_id if modify_id is not None else view.modify_count)

    def cancel(self, account: AccountId, p: Params, now_ms: int) -> Json:
        """``DELETE /fapi/v1/order`` / ``order.cancel``."""
        symbol = require(p, "symbol").upper()
        self.filters(symbol)
        order_id, client_id = self._ids(p)
        view, events = self.engine.cancel_order(
            account, symbol, order_id=order_id, client_order_id=client_id, now_ms=now_ms
        )
        self._publish(events)
        return self._order_json(view)

    def query_order(self, account: AccountId, p: Params) -> Json:
        """``GET /fapi/v1/order`` / ``order.status``."""
        symbol = require(p, "symbol").upper()
        self.filters(symbol)
        order_id, client_id = self._ids(p)
        view = self.engine.get_order(account, symbol, order_id=order_id, client_order_id=client_id)
        return self._order_json(view)

    def open_order(self, account: AccountId, p: Params) -> Json:
        """``GET /fapi/v1/openOrder``: like query_order but ``-2013`` once the order is final."""
        symbol = require(p, "symbol").upper()
        self.filters(symbol)
        order_id, client_id = self._ids(p)
        view = self.engine.get_order(account, symbol, order_id=order_id, client_order_id=client_id)
        if not view.status.is_open:
            raise SimError(-2013, "Order does not exist.")
        return self._order_json(view)

    def open_orders(self, account: AccountId, p: Params) -> Json:
        """``GET /fapi/v1/openOrders`` (one symbol or all)."""
        symbol = p.get("symbol")
        if symbol:
            self.filters(symbol)
        views = self.engine.open_orders(account, symbol.upper() if symbol else None)
        return [self._order_json(v) for v in views]

    def all_orders(self, account: AccountId, p: Params) -> Json:
        """``GET /fapi/v1/allOrders``."""
        symbol = require(p, "symbol").upper()
        self.filters(symbol)
        views = self.engine.all_orders(account, symbol)
        from_id = opt_int(p, "orderId")
        if from_id is not None:
            views = [v for v in views if v.order_id >= from_id]
        views = _window(views, p, lambda v: v.time_ms, 500, 1000)
        return [self._order_json(v) for v in views]

    def cancel_all(self, account: AccountId, p: Params, now_ms: int) -> Json:
        """``DELETE /fapi/v1/allOpenOrders``."""
        symbol = require(p, "symbol").upper()
        self.filters(symbol)
        self._publish(self.engine.cancel_all(account, symbol, now_ms))
        return {"code": 200, "msg": "The operation of cancel all open order is done."}

    def countdown(self, account: AccountId, p: Params, now_ms: int) -> Json:
        """``POST /fapi/v1/countdownCancelAll``."""
        symbol = require(p, "symbol").upper()
        self.filters(symbol)
        countdown = opt_int(p, "countdownTime")
        if countdown is None:
            raise missing("countdownTime")
        if countdown < 0:
            raise invalid("countdownTime")
        self.engine.set_countdown_cancel_all(account, symbol, countdown, now_ms)
        return {"symbol": symbol, "countdownTime": str(countdown)}

    def batch_place(self, account: AccountId, p: Params, now_ms: int) -> Json:
        """``POST /fapi/v1/batchOrders``: per-item order objects or error objects."""
        items = parse_json_list(p, "batchOrders")
        if items is None:
            raise missing("batchOrders")
        if not items or len(items) > MAX_BATCH_ORDERS:
            raise SimError(-4082, "Invalid number of batch place orders.")
        out: list[Json] = []
        for item in items:
            if not isinstance(item, dict):
                out.append(wire.error(-1130, "Data sent for parameter 'batchOrders' is not valid."))
                continue
            try:
                out.append(self.place(account, normalise_params(item), now_ms))
            except SimError as exc:
                out.append(wire.error(exc.code, exc.msg))
        return out

    def batch_modify(self, account: AccountId, p: Params, now_ms: int) -> Json:
        """``PUT /fapi/v1/batchOrders``."""
        items = parse_json_list(p, "batchOrders")
        if items is None:
            raise missing("batchOrders")
        if not items or len(items) > MAX_BATCH_ORDERS:
            raise SimError(-4082, "Invalid number of batch place orders.")
        out: list[Json] = []
        for item in items:
            if not isinstance(item, dict):
                out.append(wire.error(-1130, "Data sent for parameter 'batchOrders' is not valid."))
                continue
            try:
                out.append(self.modify(account, normalise_params(item), now_ms))
            except SimError as exc:
                out.append(wire.error(exc.code, exc.msg))
        return out

    def batch_cancel(self, account: AccountId, p: Params, now_ms: int) -> Json:
        """``DELETE /fapi/v1/batchOrders`` (accepts the all-lower-case list names ccxt sends)."""
        symbol = require(p, "symbol").upper()
        self.filters(symbol)
        order_ids = parse_json_list(p, "orderIdList", "orderidlist")
        client_ids = parse_json_list(p, "origClientOrderIdList", "origclientorderidlist")
        if order_ids is None and client_ids is None:
            raise SimError(
                -1102,
                "Param 'orderIdList' or 'origClientOrderIdList' must be sent, but both were empty/null!",
            )
        targets: list[tuple[int | None, str | None]] = (
            [(int(x), None) for x in order_ids] if order_ids is not None
            else [(None, str(x)) for x in client_ids or []]
        )  # fmt: skip
        if len(targets) > MAX_BATCH_CANCELS:
            raise SimError(-4082, "Invalid number of batch place orders.")
        out: list[Json] = []
        for order_id, client_id in targets:
            try:
                view, events = self.engine.cancel_order(
                    account, symbol, order_id=order_id, client_order_id=client_id, now_ms=now_ms
                )
            except SimError as exc:
                out.append(wire.error(exc.code, exc.msg))
                continue
            self._publish(events)
            out.append(self._order_json(view))
        return out

    # ------------------------------------------------------------------ account

    def user_trades(self, account: AccountId, p: Params) -> Json:
        """``GET /fapi/v1/userTrades``."""
        symbol = require(p, "symbol").upper()
        filters = self.filters(symbol)
        trades = self.engine.user_trades(account, symbol)
        order_id = opt_int(p, "orderId")
        if order_id is not None:
            trades = [t for t in trades if t.order_id == order_id]
        from_id = opt_int(p, "fromId")
        if from_id is not None:
            limit = max(1, min(opt_int(p, "limit") or 500, 1000))
            trades = [t for t in trades if t.trade_id >= from_id][:limit]
        else:
            trades = _window(trades, p, lambda t: t.time_ms, 500, 1000)
        return [wire.user_trade(filters, t) for t in trades]

    def income(self, account: AccountId, p: Params) -> Json:
        """``GET /fapi/v1/income``."""
        records = self.engine.income(account)
        symbol = p.get("symbol")
        if symbol:
            records = [r for r in records if r.symbol == symbol.upper()]
        income_type = p.get("incomeType")
        if income_type:
            records = [r for r in records if r.income_type == income_type]
        return [wire.income(r) for r in _window(records, p, lambda r: r.time_ms, 100, 1000)]

    def positions_v3(self, account: AccountId, p: Params) -> Json:
        """``GET /fapi/v3/positionRisk``: symbols with a position or open orders only."""
        symbol = (p.get("symbol") or "").upper()
        if symbol:
            self.filters(symbol)
        with_orders = {v.symbol for v in self.engine.open_orders(account, symbol or None)}
        rows = []
        for pos in self.engine.positions(account):
            if symbol and pos.symbol != symbol:
                continue
            if pos.qty_steps != 0 or pos.symbol in with_orders:
                rows.append(wire.position_v3(self.filters(pos.symbol), pos))
        return rows

    def positions_v2(self, account: AccountId, p: Params) -> Json:
        """``GET /fapi/v2/positionRisk``: every symbol."""
        symbol = (p.get("symbol") or "").upper()
        if symbol:
            self.filters(symbol)
        return [
            wire.position_v2(self.filters(pos.symbol), pos)
            for pos in self.engine.positions(account)
            if not symbol or pos.symbol == symbol
        ]

    def account(self, account: AccountId, *, v2: bool) -> Json:
        """``GET /fapi/v3/account`` (``v2``: the older superset)."""
        positions = self.engine.positions(account)
        if not v2:
            open_symbols = {v.symbol for v in self.engine.open_orders(account)}
            positions = [x for x in positions if x.qty_steps != 0 or x.symbol in open_symbols]
        return wire.account(self.engine.balance(account), positions, self.all_filters(), v2=v2)

    def balance(self, account: AccountId) -> Json:
        """``GET /fapi/v3/balance`` and v2."""
        return wire.balance(self.engine.balance(account), alias=f"sim{int(account)}")

    def commission_rate(self, p: Params) -> Json:
        """``GET /fapi/v1/commissionRate``."""
        symbol = require(p, "symbol").upper()
        self.filters(symbol)
        maker, taker = self._fees.rates(symbol)
        return {
            "symbol": symbol,
            "makerCommissionRate": f"{maker:.6f}",
            "takerCommissionRate": f"{taker:.6f}",
            "rpiCommissionRate": "0.000000",
        }

    def set_leverage(self, account: AccountId, p: Params, now_ms: int) -> Json:
        """``POST /fapi/v1/leverage`` (pushes ACCOUNT_CONFIG_UPDATE)."""
        symbol = require(p, "symbol").upper()
        self.filters(symbol)
        leverage = opt_int(p, "leverage")
        if leverage is None:
            raise missing("leverage")
        applied = self.engine.set_leverage(account, symbol, leverage, now_ms)
        self._publish_private(account, wire.account_config_leverage(symbol, applied, now_ms))
        return {"leverage": applied, "maxNotionalValue": "5000000", "symbol": symbol}

    def leverage_brackets(self, p: Params) -> Json:
        """``GET /fapi/v1/leverageBracket`` (static brackets from the symbol spec)."""
        symbol = (p.get("symbol") or "").upper()
        symbols = [symbol] if symbol else list(self.engine.symbols)
        out = []
        for sym in symbols:
            spec = self.engine.spec(sym) if sym in self.engine.symbols else None
            if spec is None:
                raise SimError(-1121, "Invalid symbol.")
            out.append({
                "symbol": sym,
                "notionalCoef": 1.0,
                "brackets": [
                    {"bracket": 1, "initialLeverage": spec.max_leverage, "notionalCap": 50000,
                     "notionalFloor": 0,
                     "maintMarginRatio": spec.maint_margin_ratio, "cum": 0.0},
                    {"bracket": 2, "initialLeverage": max(1, spec.max_leverage // 2), "notionalCap": 5000000,
                     "notionalFloor": 50000, "maintMarginRatio": spec.maint_margin_ratio * 2,
                     "cum": 50000 * spec.maint_margin_ratio},
                ],
            })  # fmt: skip
        return out

    def symbol_config(self, account: AccountId, p: Params) -> Json:
        """``GET /fapi/v1/symbolConfig``."""
        symbol = (p.get("symbol") or "").upper()
        symbols = [symbol] if symbol else list(self.engine.symbols)
        for sym in symbols:
            self.filters(sym)
        return [
            {"symbol": s, "marginType": "CROSSED", "isAutoAddMargin": False,
             "leverage": self.engine.get_leverage(account, s), "maxNotionalValue": "5000000"}
            for s in symbols
        ]  # fmt: skip

    @staticmethod
    def account_config() -> Json:
        """``GET /fapi/v1/accountConfig``."""
        return {
            "feeTier": 0, "canTrade": True, "canDeposit": True, "canWithdraw": True,
            "dualSidePosition": False,
            "updateTime": 0, "multiAssetsMargin": False, "tradeGroupId": -1,
        }  # fmt: skip

    def set_margin_type(self, p: Params) -> Json:
        """``POST /fapi/v1/marginType``: the simulator is cross-only (CROSSED → ``-4046``)."""
        self.filters(require(p, "symbol"))
        margin_type = require(p, "marginType").upper()
        if margin_type == "CROSSED":
            raise SimError(-4046, "No need to change margin type.")
        if margin_type == "ISOLATED":
            raise SimError(
                -1130, "Data sent for parameter 'marginType' is not valid. (simulator: cross margin only)"
            )
        raise invalid("marginType")

    @staticmethod
    def set_dual_side(p: Params) -> Json:
        """``POST /fapi/v1/positionSide/dual``: one-way mode only."""
        if not parse_bool(p, "dualSidePosition"):
            raise SimError(-4059, "No need to change position side.")
        raise SimError(
            -1130, "Data sent for parameter 'dualSidePosition' is not valid. (simulator: one-way only)"
        )

    @staticmethod
    def set_multi_assets(p: Params) -> Json:
        """``POST /fapi/v1/multiAssetsMargin``: single-asset mode only."""
        if parse_bool(p, "multiAssetsMargin"):
            raise SimError(
                -1130, "Data sent for parameter 'multiAssetsMargin' is not valid. (simulator: single-asset)"
            )
        return {"code": 200, "msg": "success"}

    # ------------------------------------------------------------------ market data

    def depth(self, p: Params, now_ms: int) -> Json:
        """``GET /fapi/v1/depth``."""
        symbol = require(p, "symbol").upper()
        filters = self.filters(symbol)
        limit = opt_int(p, "limit") or 500
        if limit not in (5, 10, 20, 50, 100, 500, 1000):
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
        rows = _window(rows, p, lambda r: r.funding_time_ms, 100, 1000)
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
