"""Account operations of the simulator API (trades, income, positions, balances, leverage, settings)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from phoenix.exchange.sim import wire_user
from phoenix.exchange.sim.market_ops import EngineOps
from phoenix.exchange.sim.params import Params, invalid, missing, opt_int, parse_bool, require, time_window
from phoenix.exchange.sim.sim_types import AccountId, FeeSchedule, SimError

Json = Any


class AccountOps(EngineOps):
    """Signed account endpoints (no order placement)."""

    _fees: FeeSchedule
    _publish_private: Callable[[AccountId, dict[str, Any]], None]

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
            trades = time_window(trades, p, lambda t: t.time_ms, 500, 1000)
        return [wire_user.user_trade(filters, t) for t in trades]

    def income(self, account: AccountId, p: Params) -> Json:
        """``GET /fapi/v1/income``."""
        records = self.engine.income(account)
        symbol = p.get("symbol")
        if symbol:
            records = [r for r in records if r.symbol == symbol.upper()]
        income_type = p.get("incomeType")
        if income_type:
            records = [r for r in records if r.income_type == income_type]
        return [wire_user.income(r) for r in time_window(records, p, lambda r: r.time_ms, 100, 1000)]

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
                rows.append(wire_user.position_v3(self.filters(pos.symbol), pos))
        return rows

    def positions_v2(self, account: AccountId, p: Params) -> Json:
        """``GET /fapi/v2/positionRisk``: every symbol."""
        symbol = (p.get("symbol") or "").upper()
        if symbol:
            self.filters(symbol)
        return [
            wire_user.position_v2(self.filters(pos.symbol), pos)
            for pos in self.engine.positions(account)
            if not symbol or pos.symbol == symbol
        ]

    def account(self, account: AccountId, *, v2: bool) -> Json:
        """``GET /fapi/v3/account`` (``v2``: the older superset)."""
        positions = self.engine.positions(account)
        if not v2:
            open_symbols = {v.symbol for v in self.engine.open_orders(account)}
            positions = [x for x in positions if x.qty_steps != 0 or x.symbol in open_symbols]
        return wire_user.account(self.engine.balance(account), positions, self.all_filters(), v2=v2)

    def balance(self, account: AccountId) -> Json:
        """``GET /fapi/v3/balance`` and v2."""
        return wire_user.balance(self.engine.balance(account), alias=f"sim{int(account)}")

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
        self._publish_private(account, wire_user.account_config_leverage(symbol, applied, now_ms))
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
