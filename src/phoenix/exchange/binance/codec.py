"""Pure translation between wire structs and ``phoenix.core.types`` (no I/O).

Prices become int ticks and our quantities int steps with the symbol's ``SymbolFilters``; book sizes stay
float base units. Event ``ts_ns`` is the exchange event time ``E`` (ms) in ns.
"""

from __future__ import annotations

from decimal import Decimal

from phoenix.core.types import (
    BalanceUpdated,
    BookSnapshot,
    CancelOrder,
    Event,
    Fill,
    FundingPaid,
    MarkPriceUpdated,
    ModifyOrder,
    OrderFilled,
    OrderStatus,
    OrderType,
    OrderUpdated,
    PlaceOrder,
    PositionSynced,
    Side,
    SymbolFilters,
    TopOfBook,
    TradePrinted,
)
from phoenix.exchange.binance import wire

MS_NS = 1_000_000

_STATUS = {
    "NEW": OrderStatus.NEW,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
    "REJECTED": OrderStatus.REJECTED,
}

TickLevels = tuple[tuple[int, float], ...]


def order_status(wire_status: str) -> OrderStatus:
    """Map a Binance order status to ``OrderStatus`` (unknown strings map to ``UNKNOWN``)."""
    return _STATUS.get(wire_status, OrderStatus.UNKNOWN)


def levels_to_ticks(levels: list[wire.Level], tick: float) -> TickLevels:
    """``[[price, qty], ...]`` → ``((price_ticks, qty), ...)``, rounding to the nearest tick."""
    inv = 1.0 / tick
    return tuple([(int(p * inv + 0.5), q) for p, q in levels])  # prices are positive: +0.5 rounds


def snapshot_event(symbol: str, bids: TickLevels, asks: TickLevels, ts_ns: int) -> BookSnapshot:
    """A full-book core event."""
    return BookSnapshot(symbol=symbol, ts_ns=ts_ns, bids=bids, asks=asks)


def top_of_book(msg: wire.BookTicker, f: SymbolFilters) -> TopOfBook:
    """bookTicker → ``TopOfBook``."""
    t = f.tick
    return TopOfBook(
        symbol=msg.s,
        ts_ns=(msg.E or msg.T) * MS_NS,
        bid_ticks=round(msg.b / t),
        bid_qty=msg.B,
        ask_ticks=round(msg.a / t),
        ask_qty=msg.A,
    )


def trade_printed(msg: wire.Trade | wire.AggTrade, f: SymbolFilters) -> TradePrinted:
    """trade/aggTrade → ``TradePrinted``; ``m`` true (buyer is maker) ⇒ SELL aggressor."""
    return TradePrinted(
        symbol=msg.s,
        ts_ns=(msg.T or msg.E) * MS_NS,
        price_ticks=round(msg.p / f.tick),
        qty=msg.q,
        aggressor=Side.SELL if msg.m else Side.BUY,
    )


def mark_price(msg: wire.MarkPriceUpdate) -> MarkPriceUpdated:
    """markPriceUpdate → ``MarkPriceUpdated``."""
    return MarkPriceUpdated(
        symbol=msg.s, ts_ns=msg.E * MS_NS, mark_price=msg.p, funding_rate=msg.r, next_funding_ms=msg.T
    )


_SIDE = {"BUY": Side.BUY, "SELL": Side.SELL}


def _ticks(price: str | float, f: SymbolFilters) -> int:
    # wire prices are on the tick grid: nearest tick is exact
    return round(float(price) / f.tick)


def _steps(qty: str | float, f: SymbolFilters) -> int:
    return round(float(qty) / f.step)


def order_updated_from_stream(msg: wire.OrderTradeUpdate, f: SymbolFilters) -> OrderUpdated:
    """ORDER_TRADE_UPDATE → ``OrderUpdated`` (state after the event)."""
    o = msg.o
    return OrderUpdated(
        symbol=o.s,
        ts_ns=msg.E * MS_NS,
        client_order_id=o.c,
        status=order_status(o.X),
        side=_SIDE[o.S],
        price_ticks=_ticks(o.p, f),
        qty_steps=_steps(o.q, f),
        filled_steps=_steps(o.z, f),
        exchange_order_id=o.i,
    )


def fill_from_stream(msg: wire.OrderTradeUpdate, f: SymbolFilters) -> Fill | None:
    """The fill carried by ORDER_TRADE_UPDATE (x = TRADE/CALCULATED with l > 0), else ``None``.

    ``fee_usdc`` is the commission ``n`` as reported; commissions in another asset (e.g. BNB) are passed
    through unconverted (USDC contracts charge USDC unless BNB fee discount is on).
    """
    o = msg.o
    if o.x not in ("TRADE", "CALCULATED"):
        return None
    qty_steps = _steps(o.l, f)
    if qty_steps <= 0:
        return None
    return Fill(
        symbol=o.s,
        client_order_id=o.c,
        trade_id=o.t,
        side=_SIDE[o.S],
        price_ticks=_ticks(o.L, f),
        qty_steps=qty_steps,
        maker=o.m,
        fee_usdc=o.n,
        realized_pnl_usdc=o.rp,
        ts_ns=o.T * MS_NS,
    )


def order_events(msg: wire.OrderTradeUpdate, f: SymbolFilters) -> list[Event]:
    """ORDER_TRADE_UPDATE → ``[OrderFilled?, OrderUpdated]`` (the fill first)."""
    out: list[Event] = []
    fill = fill_from_stream(msg, f)
    if fill is not None:
        out.append(OrderFilled(fill=fill, ts_ns=msg.E * MS_NS))
    out.append(order_updated_from_stream(msg, f))
    return out


def account_events(msg: wire.AccountUpdate, margin_asset: str = "USDC") -> list[Event]:
    """ACCOUNT_UPDATE → ``FundingPaid`` (reason FUNDING_FEE, amount = ``bc``) and ``BalanceUpdated``."""
    out: list[Event] = []
    ts = msg.E * MS_NS
    for b in msg.a.B:
        if b.a != margin_asset:
            continue
        if msg.a.m == "FUNDING_FEE":
            symbol = msg.a.S or (msg.a.P[0].s if msg.a.P else "")
            out.append(FundingPaid(symbol=symbol, ts_ns=ts, amount_usdc=b.bc))
        out.append(BalanceUpdated(ts_ns=ts, wallet_usdc=b.wb))
    return out


def positions_from_account_update(
    msg: wire.AccountUpdate, filters: dict[str, SymbolFilters]
) -> list[PositionSynced]:
    """The (changed) one-way positions carried by ACCOUNT_UPDATE, except for reason ``ORDER``.

    A fill's ACCOUNT_UPDATE (reason ORDER) may arrive before or after its ORDER_TRADE_UPDATE (real
    Binance usually sends it ~29 ms ahead): adopting its position and then adding the fill would count
    the fill twice. Fills move the position; REST reconciliation covers a lost fill.
    """
    if msg.a.m == "ORDER":
        return []
    out = []
    for p in msg.a.P:
        f = filters.get(p.s)
        if f is None or p.ps not in ("BOTH", ""):
            continue
        out.append(
            PositionSynced(symbol=p.s, qty_steps=_steps(p.pa, f), entry_price=p.ep, ts_ns=msg.E * MS_NS)
        )
    return out


def position_from_rest(row: wire.PositionRisk, f: SymbolFilters) -> PositionSynced:
    """``positionRisk`` row → ``PositionSynced``."""
    return PositionSynced(
        symbol=row.symbol,
        qty_steps=_steps(row.positionAmt, f),
        entry_price=row.entryPrice,
        ts_ns=row.updateTime * MS_NS,
    )


def order_updated_from_rest(o: wire.OrderResponse, f: SymbolFilters, ts_ns: int) -> OrderUpdated:
    """REST/ws-fapi order object → ``OrderUpdated``."""
    return OrderUpdated(
        symbol=o.symbol,
        ts_ns=(o.updateTime or o.time) * MS_NS or ts_ns,
        client_order_id=o.clientOrderId,
        status=order_status(o.status),
        side=_SIDE[o.side],
        price_ticks=_ticks(o.price, f),
        qty_steps=_steps(o.origQty, f),
        filled_steps=_steps(o.executedQty, f),
        exchange_order_id=o.orderId,
    )


# --------------------------------------------------------------------------- actions → wire params


def place_params(a: PlaceOrder, f: SymbolFilters) -> dict[str, str]:
    """``PlaceOrder`` → ``order.place`` / ``POST /fapi/v1/order`` params (strings, insertion-ordered)."""
    p: dict[str, str] = {
        "symbol": a.symbol,
        "side": a.side.value,
        "type": a.order_type.value,
        "quantity": f.format_qty(a.qty_steps),
        "newClientOrderId": a.client_order_id,
        "newOrderRespType": "RESULT",
    }
    if a.order_type is OrderType.LIMIT:
        p["price"] = f.format_price(a.price_ticks)
        p["timeInForce"] = a.time_in_force.value
    if a.reduce_only:
        p["reduceOnly"] = "true"
    return p


def cancel_params(a: CancelOrder) -> dict[str, str]:
    """``CancelOrder`` → cancel params (by client order id)."""
    return {"symbol": a.symbol, "origClientOrderId": a.client_order_id}


def modify_params(a: ModifyOrder, f: SymbolFilters) -> dict[str, str]:
    """``ModifyOrder`` → ``order.modify`` / ``PUT /fapi/v1/order`` params."""
    return {
        "symbol": a.symbol,
        "origClientOrderId": a.client_order_id,
        "side": a.side.value,
        "quantity": f.format_qty(a.qty_steps),
        "price": f.format_price(a.price_ticks),
    }


# --------------------------------------------------------------------------- exchangeInfo


def filters_from_exchange_info(
    info: wire.ExchangeInfo, *, trading_only: bool = True
) -> dict[str, SymbolFilters]:
    """``exchangeInfo`` → ``{symbol: SymbolFilters}`` from PRICE_FILTER, LOT_SIZE, MARKET_LOT_SIZE,
    MIN_NOTIONAL and PERCENT_PRICE. Symbols lacking a tick or step are skipped."""
    out: dict[str, SymbolFilters] = {}
    for s in info.symbols:
        if trading_only and s.status != "TRADING":
            continue
        by_type = {flt.filterType: flt for flt in s.filters}
        price, lot = by_type.get("PRICE_FILTER"), by_type.get("LOT_SIZE")
        if price is None or lot is None or not price.tickSize or not lot.stepSize:
            continue
        market = by_type.get("MARKET_LOT_SIZE")
        notional = by_type.get("MIN_NOTIONAL")
        pct = by_type.get("PERCENT_PRICE")
        kwargs: dict[str, Decimal] = {}
        if lot.maxQty:
            kwargs["max_qty"] = Decimal(lot.maxQty)
        if pct is not None and pct.multiplierUp and pct.multiplierDown:
            kwargs["percent_up"] = Decimal(pct.multiplierUp)
            kwargs["percent_down"] = Decimal(pct.multiplierDown)
        out[s.symbol] = SymbolFilters(
            symbol=s.symbol,
            tick_size=Decimal(price.tickSize),
            step_size=Decimal(lot.stepSize),
            min_qty=Decimal(lot.minQty or lot.stepSize),
            min_notional=Decimal(notional.notional)
            if notional is not None and notional.notional
            else Decimal(0),
            market_step_size=Decimal(market.stepSize) if market is not None and market.stepSize else None,
            **kwargs,
        )
    return out
