"""Typed wire messages (msgspec Structs), decoded once at the edge.

Decoders run with ``strict=False`` so decimal strings decode straight to float where a float is declared
(book levels, trade sizes); order prices/quantities stay strings and are snapped to the tick/step grid by
``codec``. Unknown fields are ignored (Binance adds fields over time, e.g. ``ps``/``st`` in 2026).
"""

from __future__ import annotations

import msgspec

Level = tuple[float, float]

# --------------------------------------------------------------------------- market streams


class DepthUpdate(msgspec.Struct, tag_field="e", tag="depthUpdate"):
    """Diff (or partial) depth event: ``U`` first id, ``u`` last id, ``pu`` previous event's ``u``."""

    E: int
    s: str
    U: int
    u: int
    pu: int
    b: list[Level]
    a: list[Level]
    T: int = 0


class BookTicker(msgspec.Struct, tag_field="e", tag="bookTicker"):
    """Best bid/ask; ``u`` shares the depth update-id sequence."""

    s: str
    b: float
    B: float
    a: float
    A: float
    u: int = 0
    E: int = 0
    T: int = 0


class Trade(msgspec.Struct, tag_field="e", tag="trade"):
    """Single trade (``@trade`` on ``/public``); ``m`` true ⇒ buyer is maker ⇒ the aggressor sold."""

    E: int
    s: str
    p: float
    q: float
    m: bool
    T: int = 0
    t: int = 0
    X: str = "MARKET"


class AggTrade(msgspec.Struct, tag_field="e", tag="aggTrade"):
    """Aggregate trade (``@aggTrade`` on ``/market``)."""

    E: int
    s: str
    p: float
    q: float
    m: bool
    T: int = 0
    a: int = 0


class MarkPriceUpdate(msgspec.Struct, tag_field="e", tag="markPriceUpdate"):
    """Mark price, index, funding rate ``r`` and next funding time ``T``."""

    E: int
    s: str
    p: float
    r: float = 0.0
    T: int = 0
    i: float = 0.0


MarketEvent = DepthUpdate | BookTicker | Trade | AggTrade | MarkPriceUpdate


class StreamEnvelope(msgspec.Struct):
    """Combined-stream frame ``{"stream": ..., "data": {...}}``."""

    stream: str
    data: MarketEvent


class ControlReply(msgspec.Struct):
    """Reply to SUBSCRIBE/UNSUBSCRIBE/LIST_SUBSCRIPTIONS (``result`` null or a list) or an error."""

    id: int | str | None = None
    result: list[str] | bool | None = None
    code: int | None = None
    msg: str | None = None


class EventType(msgspec.Struct):
    """Just the ``e`` field, to classify frames no typed struct matched."""

    e: str = ""


# --------------------------------------------------------------------------- user data stream


class OrderUpdateBody(msgspec.Struct):
    """``ORDER_TRADE_UPDATE.o``: execution type ``x``, status ``X``, this fill ``l``/``L``, fee ``n``."""

    s: str
    c: str
    S: str
    o: str
    q: float
    p: float
    x: str
    X: str
    i: int
    l: float  # noqa: E741 - Binance's field name
    z: float
    L: float
    T: int
    t: int = 0
    f: str = "GTC"
    ap: float = 0.0
    N: str | None = None
    n: float = 0.0
    m: bool = False
    R: bool = False
    rp: float = 0.0
    ps: str = "BOTH"


class OrderTradeUpdate(msgspec.Struct, tag_field="e", tag="ORDER_TRADE_UPDATE"):
    """Order state change (new, fill, cancel, expiry, amendment)."""

    E: int
    T: int
    o: OrderUpdateBody


class BalanceEntry(msgspec.Struct):
    """``ACCOUNT_UPDATE.a.B[]``: wallet ``wb``, cross wallet ``cw``, balance change ``bc``."""

    a: str
    wb: float
    cw: float = 0.0
    bc: float = 0.0


class PositionEntry(msgspec.Struct):
    """``ACCOUNT_UPDATE.a.P[]``: signed amount ``pa``, entry price ``ep``."""

    s: str
    pa: str
    ep: float = 0.0
    up: float = 0.0
    ps: str = "BOTH"


class AccountUpdateBody(msgspec.Struct):
    """``ACCOUNT_UPDATE.a``: reason ``m`` (ORDER, FUNDING_FEE, ...), balances, changed positions."""

    m: str
    B: list[BalanceEntry] = []
    P: list[PositionEntry] = []
    S: str | None = None  # 2026: symbol of a FUNDING_FEE event


class AccountUpdate(msgspec.Struct, tag_field="e", tag="ACCOUNT_UPDATE"):
    """Balance/position change."""

    E: int
    a: AccountUpdateBody
    T: int = 0


class ListenKeyExpired(msgspec.Struct, tag_field="e", tag="listenKeyExpired"):
    """The listenKey lapsed; ``E`` was a string in older payloads (lax decoding handles both)."""

    E: int = 0
    listenKey: str = ""


class TradeLite(msgspec.Struct, tag_field="e", tag="TRADE_LITE"):
    """Low-latency fill subset; ignored (``ORDER_TRADE_UPDATE`` carries every fill)."""

    E: int = 0


UserEvent = OrderTradeUpdate | AccountUpdate | ListenKeyExpired | TradeLite

# --------------------------------------------------------------------------- REST


class ErrorBody(msgspec.Struct):
    """``{"code": -2011, "msg": "..."}`` (ws-fapi errors may add a ``data`` object)."""

    code: int
    msg: str = ""
    data: dict[str, object] | None = None


class ServerTime(msgspec.Struct):
    """``GET /fapi/v1/time``."""

    serverTime: int


class DepthSnapshot(msgspec.Struct):
    """``GET /fapi/v1/depth``."""

    lastUpdateId: int
    bids: list[Level]
    asks: list[Level]
    E: int = 0
    T: int = 0


class OrderResponse(msgspec.Struct):
    """The shared order object of the order endpoints (subset Phoenix uses)."""

    orderId: int
    symbol: str
    status: str
    clientOrderId: str
    price: str
    origQty: str
    executedQty: str
    side: str
    type: str = "LIMIT"
    timeInForce: str = "GTC"
    avgPrice: str = "0"
    reduceOnly: bool = False
    updateTime: int = 0
    time: int = 0


class FilterInfo(msgspec.Struct):
    """One entry of ``symbols[].filters`` (fields depend on ``filterType``)."""

    filterType: str
    tickSize: str | None = None
    minPrice: str | None = None
    maxPrice: str | None = None
    stepSize: str | None = None
    minQty: str | None = None
    maxQty: str | None = None
    notional: str | None = None
    multiplierUp: str | None = None
    multiplierDown: str | None = None


class SymbolInfo(msgspec.Struct):
    """One entry of ``exchangeInfo.symbols``."""

    symbol: str
    status: str = "TRADING"
    contractType: str = ""
    quoteAsset: str = ""
    marginAsset: str = ""
    filters: list[FilterInfo] = []


class RateLimitInfo(msgspec.Struct):
    """``exchangeInfo.rateLimits[]`` (and ws-fapi ``rateLimits[]`` with ``count``)."""

    rateLimitType: str
    interval: str
    intervalNum: int
    limit: int
    count: int | None = None


class ExchangeInfo(msgspec.Struct):
    """``GET /fapi/v1/exchangeInfo``."""

    symbols: list[SymbolInfo]
    rateLimits: list[RateLimitInfo] = []
    serverTime: int = 0


class PositionRisk(msgspec.Struct):
    """``GET /fapi/v3/positionRisk`` row."""

    symbol: str
    positionAmt: str
    entryPrice: float = 0.0
    markPrice: float = 0.0
    unRealizedProfit: float = 0.0
    positionSide: str = "BOTH"
    updateTime: int = 0


class AccountAsset(msgspec.Struct):
    """``GET /fapi/v3/account`` ``assets[]`` row."""

    asset: str
    walletBalance: float
    availableBalance: float = 0.0
    marginBalance: float = 0.0
    initialMargin: float = 0.0
    maintMargin: float = 0.0
    unrealizedProfit: float = 0.0
    updateTime: int = 0


class AccountInfo(msgspec.Struct):
    """``GET /fapi/v3/account`` (subset)."""

    assets: list[AccountAsset] = []
    totalWalletBalance: float = 0.0
    totalMarginBalance: float = 0.0
    availableBalance: float = 0.0
    totalInitialMargin: float = 0.0
    totalMaintMargin: float = 0.0


class BalanceRow(msgspec.Struct):
    """``GET /fapi/v3/balance`` row."""

    asset: str
    balance: float
    availableBalance: float = 0.0
    crossWalletBalance: float = 0.0
    updateTime: int = 0


class CommissionRate(msgspec.Struct):
    """``GET /fapi/v1/commissionRate``."""

    symbol: str
    makerCommissionRate: float
    takerCommissionRate: float


class PremiumIndex(msgspec.Struct):
    """``GET /fapi/v1/premiumIndex`` (mark price + funding)."""

    symbol: str
    markPrice: float
    lastFundingRate: float = 0.0
    nextFundingTime: int = 0
    indexPrice: float = 0.0
    time: int = 0


class FundingRateRow(msgspec.Struct):
    """``GET /fapi/v1/fundingRate`` row."""

    symbol: str
    fundingTime: int
    fundingRate: float
    markPrice: float = 0.0


class IncomeRow(msgspec.Struct):
    """``GET /fapi/v1/income`` row (``income`` signed, in ``asset``)."""

    incomeType: str
    income: float
    asset: str
    time: int
    symbol: str = ""
    tranId: int = 0
    info: str = ""


class ListenKeyResponse(msgspec.Struct):
    """``POST/PUT /fapi/v1/listenKey`` (PUT may return ``{}``)."""

    listenKey: str | None = None


class CountdownResponse(msgspec.Struct):
    """``POST /fapi/v1/countdownCancelAll``."""

    symbol: str
    countdownTime: int


class CodeMsg(msgspec.Struct):
    """``{"code": 200, "msg": "..."}`` success replies (cancel-all)."""

    code: int = 200
    msg: str = ""


# --------------------------------------------------------------------------- WebSocket API


class WsApiResponse(msgspec.Struct):
    """ws-fapi response envelope; ``result`` is decoded later by the caller that knows its type."""

    id: str | int | None
    status: int
    result: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)  # empty when absent
    error: ErrorBody | None = None
    rateLimits: list[RateLimitInfo] | None = None


# Shared decoders (construct once; decoding is the hot path)
stream_decoder = msgspec.json.Decoder(StreamEnvelope, strict=False)
raw_market_decoder = msgspec.json.Decoder(MarketEvent, strict=False)
control_decoder = msgspec.json.Decoder(ControlReply)
event_type_decoder = msgspec.json.Decoder(EventType)
user_decoder = msgspec.json.Decoder(UserEvent, strict=False)
ws_api_decoder = msgspec.json.Decoder(WsApiResponse)
order_decoder = msgspec.json.Decoder(OrderResponse, strict=False)
error_decoder = msgspec.json.Decoder(ErrorBody, strict=False)
