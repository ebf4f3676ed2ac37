"""Engine account objects and user-stream events → Binance USDⓈ-M JSON (protocol doc §3.3–3.4, §7).

Pure functions like ``wire.py``: user trades, income, positions (v2/v3), account (v2/v3), balances,
ORDER_TRADE_UPDATE, TRADE_LITE, ACCOUNT_UPDATE, listenKeyExpired and ACCOUNT_CONFIG_UPDATE.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from phoenix.core.types import OrderType, SymbolFilters
from phoenix.exchange.sim.sim_types import (
    AccountUpdatePublished,
    BalanceView,
    IncomeRecord,
    OrderUpdatePublished,
    PositionView,
    UserTrade,
)
from phoenix.exchange.sim.wire import USDC, float_price_str, money, price_str, qty_str

Json = dict[str, Any]


def user_trade(filters: SymbolFilters, t: UserTrade) -> Json:
    """``GET /fapi/v1/userTrades`` row."""
    buyer = t.side.value == "BUY"
    q = qty_str(filters, t.qty_steps)
    return {
        "symbol": t.symbol,
        "id": t.trade_id,
        "orderId": t.order_id,
        "side": t.side.value,
        "price": price_str(filters, t.price_ticks),
        "qty": q,
        "realizedPnl": money(t.realized_pnl_usdc),
        "quoteQty": money(t.quote_qty_usdc),
        "commission": money(t.commission_usdc),
        "commissionAsset": USDC,
        "time": t.time_ms,
        "positionSide": "BOTH",
        "buyer": buyer,
        "maker": t.maker,
        "marginAsset": USDC,
        "baseQty": q,
        "pair": t.symbol,
    }


def income(r: IncomeRecord) -> Json:
    """``GET /fapi/v1/income`` row."""
    return {
        "symbol": r.symbol,
        "incomeType": r.income_type,
        "income": money(r.income_usdc),
        "asset": USDC,
        "info": r.income_type,
        "time": r.time_ms,
        "tranId": r.tran_id,
        "tradeId": "" if r.trade_id is None else str(r.trade_id),
    }


# --------------------------------------------------------------------------- account and positions


def position_v3(filters: SymbolFilters, p: PositionView) -> Json:
    """``GET /fapi/v3/positionRisk`` row."""
    return {
        "symbol": p.symbol,
        "positionSide": "BOTH",
        "positionAmt": qty_str(filters, p.qty_steps),
        "entryPrice": f"{p.entry_price:.7f}",
        "breakEvenPrice": f"{p.entry_price:.7f}",
        "markPrice": f"{p.mark_price:.8f}",
        "unRealizedProfit": money(p.unrealized_pnl_usdc),
        "liquidationPrice": "0",
        "isolatedMargin": "0",
        "notional": money(p.notional_usdc),
        "marginAsset": USDC,
        "isolatedWallet": "0",
        "initialMargin": money(p.initial_margin_usdc + p.open_order_initial_margin_usdc),
        "maintMargin": money(p.maint_margin_usdc),
        "positionInitialMargin": money(p.initial_margin_usdc),
        "openOrderInitialMargin": money(p.open_order_initial_margin_usdc),
        "adl": 1 if p.qty_steps else 0,
        "bidNotional": money(p.bid_notional_usdc),
        "askNotional": money(p.ask_notional_usdc),
        "updateTime": p.update_time_ms,
    }


def position_v2(filters: SymbolFilters, p: PositionView) -> Json:
    """``GET /fapi/v2/positionRisk`` row."""
    return {
        "symbol": p.symbol,
        "positionAmt": qty_str(filters, p.qty_steps),
        "entryPrice": f"{p.entry_price:.7f}",
        "breakEvenPrice": f"{p.entry_price:.7f}",
        "markPrice": f"{p.mark_price:.8f}",
        "unRealizedProfit": money(p.unrealized_pnl_usdc),
        "liquidationPrice": "0",
        "leverage": str(p.leverage),
        "maxNotionalValue": "5000000",
        "marginType": "cross",
        "isolatedMargin": "0.00000000",
        "isAutoAddMargin": "false",
        "positionSide": "BOTH",
        "notional": money(p.notional_usdc),
        "isolatedWallet": "0",
        "updateTime": p.update_time_ms,
    }


def _asset_row(b: BalanceView) -> Json:
    return {
        "asset": b.asset,
        "walletBalance": money(b.wallet_usdc),
        "unrealizedProfit": money(b.unrealized_pnl_usdc),
        "marginBalance": money(b.margin_balance_usdc),
        "maintMargin": money(b.maint_margin_usdc),
        "initialMargin": money(b.initial_margin_usdc),
        "positionInitialMargin": money(b.position_initial_margin_usdc),
        "openOrderInitialMargin": money(b.open_order_initial_margin_usdc),
        "crossWalletBalance": money(b.wallet_usdc),
        "crossUnPnl": money(b.unrealized_pnl_usdc),
        "availableBalance": money(b.available_usdc),
        "maxWithdrawAmount": money(b.available_usdc),
        "updateTime": max(1, b.update_time_ms),  # ccxt skips assets whose updateTime is 0
    }


def account(
    b: BalanceView, positions: Iterable[PositionView], filters: Mapping[str, SymbolFilters], *, v2: bool
) -> Json:
    """``GET /fapi/v3/account`` (or the v2 superset when ``v2``)."""
    asset = _asset_row(b)
    if v2:
        asset["marginAvailable"] = True
    rows: list[Json] = []
    for p in positions:
        f = filters[p.symbol]
        row: Json = {
            "symbol": p.symbol,
            "positionSide": "BOTH",
            "positionAmt": qty_str(f, p.qty_steps),
            "unrealizedProfit": money(p.unrealized_pnl_usdc),
            "isolatedMargin": "0.00000000",
            "notional": money(p.notional_usdc),
            "isolatedWallet": "0",
            "initialMargin": money(p.initial_margin_usdc + p.open_order_initial_margin_usdc),
            "maintMargin": money(p.maint_margin_usdc),
            "updateTime": p.update_time_ms,
        }
        if v2:
            row.update({
                "leverage": str(p.leverage), "isolated": False, "entryPrice": f"{p.entry_price:.7f}",
                "breakEvenPrice": f"{p.entry_price:.7f}", "maxNotional": "5000000",
                "bidNotional": money(p.bid_notional_usdc), "askNotional": money(p.ask_notional_usdc),
                "positionInitialMargin": money(p.initial_margin_usdc),
                "openOrderInitialMargin": money(p.open_order_initial_margin_usdc),
            })  # fmt: skip
        rows.append(row)
    out: Json = {
        "totalInitialMargin": money(b.initial_margin_usdc),
        "totalMaintMargin": money(b.maint_margin_usdc),
        "totalWalletBalance": money(b.wallet_usdc),
        "totalUnrealizedProfit": money(b.unrealized_pnl_usdc),
        "totalMarginBalance": money(b.margin_balance_usdc),
        "totalPositionInitialMargin": money(b.position_initial_margin_usdc),
        "totalOpenOrderInitialMargin": money(b.open_order_initial_margin_usdc),
        "totalCrossWalletBalance": money(b.wallet_usdc),
        "totalCrossUnPnl": money(b.unrealized_pnl_usdc),
        "availableBalance": money(b.available_usdc),
        "maxWithdrawAmount": money(b.available_usdc),
        "assets": [asset],
        "positions": rows,
    }
    if v2:
        out.update({
            "feeTier": 0, "feeBurn": False, "canTrade": True, "canDeposit": True, "canWithdraw": True,
            "updateTime": 0, "multiAssetsMargin": False, "tradeGroupId": -1,
        })  # fmt: skip
    return out


def balance(b: BalanceView, alias: str) -> list[Json]:
    """``GET /fapi/v3/balance`` (and v2)."""
    return [
        {
            "accountAlias": alias,
            "asset": b.asset,
            "balance": money(b.wallet_usdc),
            "crossWalletBalance": money(b.wallet_usdc),
            "crossUnPnl": money(b.unrealized_pnl_usdc),
            "availableBalance": money(b.available_usdc),
            "maxWithdrawAmount": money(b.available_usdc),
            "marginAvailable": True,
            "updateTime": max(1, b.update_time_ms),
        }
    ]


# --------------------------------------------------------------------------- user data stream


def order_trade_update(filters: SymbolFilters, ev: OrderUpdatePublished, event_ms: int) -> Json:
    """``ORDER_TRADE_UPDATE`` payload (§7.2)."""
    o = ev.order
    is_market = o.order_type is OrderType.MARKET
    inner: Json = {
        "s": o.symbol,
        "c": o.client_order_id,
        "S": o.side.value,
        "o": o.order_type.value,
        "f": o.time_in_force.value,
        "q": qty_str(filters, o.orig_qty_steps),
        "p": price_str(filters, 0 if is_market else o.price_ticks),
        "ap": float_price_str(filters, o.avg_price, 3),
        "sp": "0",
        "x": ev.exec_type.value,
        "X": o.status.value,
        "i": o.order_id,
        "l": qty_str(filters, ev.last_qty_steps),
        "z": qty_str(filters, o.executed_qty_steps),
        "L": price_str(filters, ev.last_price_ticks),
        "T": ev.event_ms,
        "t": ev.trade_id,
        "b": money(ev.bid_notional_usdc),
        "a": money(ev.ask_notional_usdc),
        "m": ev.maker,
        "R": o.reduce_only,
        "wt": "CONTRACT_PRICE",
        "ot": o.order_type.value,
        "ps": "BOTH",
        "cp": False,
        "rp": money(ev.realized_pnl_usdc),
        "pP": False,
        "si": 0,
        "ss": 0,
        "V": o.stp_mode.value,
        "pm": "NONE",
        "gtd": 0,
        "er": str(ev.expiry_reason),
    }
    if ev.exec_type.value == "TRADE":
        inner["N"] = USDC
        inner["n"] = money(ev.commission_usdc)
    return {"e": "ORDER_TRADE_UPDATE", "E": event_ms, "T": ev.event_ms, "o": inner}


def trade_lite(filters: SymbolFilters, ev: OrderUpdatePublished, event_ms: int) -> Json:
    """``TRADE_LITE`` payload (§7.3) for a fill."""
    o = ev.order
    return {
        "e": "TRADE_LITE",
        "E": event_ms,
        "T": ev.event_ms,
        "s": o.symbol,
        "q": qty_str(filters, o.orig_qty_steps),
        "p": price_str(filters, o.price_ticks),
        "m": ev.maker,
        "c": o.client_order_id,
        "S": o.side.value,
        "L": price_str(filters, ev.last_price_ticks),
        "l": qty_str(filters, ev.last_qty_steps),
        "t": ev.trade_id,
        "i": o.order_id,
    }


def account_update(filters: Mapping[str, SymbolFilters], ev: AccountUpdatePublished, event_ms: int) -> Json:
    """``ACCOUNT_UPDATE`` payload (§7.4)."""
    positions = []
    for p in ev.positions:
        f = filters[p.symbol]
        positions.append({
            "s": p.symbol, "pa": qty_str(f, p.qty_steps), "ep": f"{p.entry_price:.7f}",
            "bep": f"{p.entry_price:.7f}", "cr": money(p.cum_realized_pnl_usdc),
            "up": money(p.unrealized_pnl_usdc), "mt": "cross", "iw": "0", "ps": "BOTH",
        })  # fmt: skip
    inner: Json = {
        "m": ev.reason,
        "B": [{"a": ev.asset, "wb": money(ev.wallet_usdc), "cw": money(ev.wallet_usdc),
               "bc": money(ev.balance_change_usdc)}],
        "P": positions,
    }  # fmt: skip
    if ev.reason == "FUNDING_FEE" and ev.symbol:
        inner["S"] = ev.symbol
    return {"e": "ACCOUNT_UPDATE", "E": event_ms, "T": ev.event_ms, "a": inner}


def listen_key_expired(listen_key: str, event_ms: int) -> Json:
    """``listenKeyExpired`` payload."""
    return {"e": "listenKeyExpired", "E": event_ms, "listenKey": listen_key}


def account_config_leverage(symbol: str, leverage: int, event_ms: int) -> Json:
    """``ACCOUNT_CONFIG_UPDATE`` for a leverage change."""
    return {"e": "ACCOUNT_CONFIG_UPDATE", "E": event_ms, "T": event_ms, "ac": {"s": symbol, "l": leverage}}
