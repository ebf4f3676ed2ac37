"""Request-level operations shared by the REST API and the WebSocket API of the simulator.

Each operation takes the authenticated account, the request parameters as strings (REST form/query
values, or ws-fapi JSON values normalised with :func:`normalise_params`) and the server time, calls the
engine, publishes the resulting events and returns the Binance JSON answer. Rejections raise
``SimError`` with Binance's code; the transport layer turns them into its error shape.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from phoenix.core.types import OrderType, Side, TimeInForce
from phoenix.exchange.sim import wire
from phoenix.exchange.sim.account_ops import AccountOps
from phoenix.exchange.sim.engine import SimExchange
from phoenix.exchange.sim.market_ops import MarketDataOps
from phoenix.exchange.sim.params import (
    Params,
    invalid,
    missing,
    normalise_params,
    opt_int,
    parse_bool,
    parse_json_list,
    require,
    time_window,
)
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

Json = Any
CONDITIONAL_TYPES = frozenset(
    {"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"}
)
PRICE_MATCH_MODES = frozenset(
    {"OPPONENT", "OPPONENT_5", "OPPONENT_10", "OPPONENT_20", "QUEUE", "QUEUE_5", "QUEUE_10", "QUEUE_20"}
)
MAX_BATCH_ORDERS = 5
MAX_BATCH_CANCELS = 10


class TradingApi(MarketDataOps, AccountOps):
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
        views = time_window(views, p, lambda v: v.time_ms, 500, 1000)
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
