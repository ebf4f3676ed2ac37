"""Engine-level types of the simulated exchange: requests, views, published events, errors.

Units follow ``phoenix.core.types``: our order prices in int ticks, our quantities in int steps,
market book quantities as float base units, money as float USDC, exchange times in int ms.
Everything here is plain data; the wire server (``wire.py``) turns it into Binance JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NewType, TypeAlias

from phoenix.core.types import OrderType, Side, TimeInForce
from phoenix.errors import ExchangeError

AccountId = NewType("AccountId", int)

FUNDING_INTERVAL_MS = 8 * 3600 * 1000


class SimError(ExchangeError):
    """A rejection with Binance's exact error code (e.g. -5022, -2019, -4164); HTTP 400 unless stated."""

    def __init__(self, code: int, msg: str, *, http_status: int = 400) -> None:
        super().__init__(code, msg, http_status=http_status)
        self.code: int = code


class SimOrderStatus(StrEnum):
    """Order status exactly as on the wire (includes ``EXPIRED_IN_MATCH`` for self-trade prevention)."""

    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    EXPIRED_IN_MATCH = "EXPIRED_IN_MATCH"

    @property
    def is_open(self) -> bool:
        """True while the order can still fill."""
        return self is SimOrderStatus.NEW or self is SimOrderStatus.PARTIALLY_FILLED


class ExecType(StrEnum):
    """ORDER_TRADE_UPDATE execution type (``o.x``)."""

    NEW = "NEW"
    TRADE = "TRADE"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    AMENDMENT = "AMENDMENT"


class StpMode(StrEnum):
    """Self-trade prevention mode (``selfTradePreventionMode``)."""

    NONE = "NONE"
    EXPIRE_TAKER = "EXPIRE_TAKER"
    EXPIRE_MAKER = "EXPIRE_MAKER"
    EXPIRE_BOTH = "EXPIRE_BOTH"


class ExpiryReason:
    """Values of ``o.er`` (expiry reason) in ORDER_TRADE_UPDATE."""

    NONE = 0
    STP = 1
    IOC_REMAINDER = 2
    IOC_REMAINDER_STP = 3
    REDUCE_ONLY = 4


@dataclass(frozen=True, slots=True, kw_only=True)
class FeeSchedule:
    """Maker/taker commission rates as fractions of notional (negative maker = rebate).

    ``per_symbol`` overrides the defaults: ``{"ETHUSDC": (maker_rate, taker_rate)}``.
    Defaults follow the protocol doc §10 suggestion for USDC pairs: maker 0, taker 0.0004.
    """

    maker_rate: float = 0.0
    taker_rate: float = 0.0004
    per_symbol: tuple[tuple[str, float, float], ...] = ()

    def rates(self, symbol: str) -> tuple[float, float]:
        """(maker_rate, taker_rate) of ``symbol``."""
        for sym, maker, taker in self.per_symbol:
            if sym == symbol:
                return maker, taker
        return self.maker_rate, self.taker_rate


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRequest:
    """A new order as the engine sees it (already converted from wire strings to the grid).

    ``price_ticks`` is ignored for MARKET orders. ``client_order_id`` None = the engine generates one.
    """

    symbol: str
    side: Side
    qty_steps: int
    price_ticks: int = 0
    order_type: OrderType = OrderType.LIMIT
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    client_order_id: str | None = None
    stp_mode: StpMode = StpMode.EXPIRE_MAKER


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderView:
    """Snapshot of one order (the shape behind Binance's order object and ORDER_TRADE_UPDATE ``o``)."""

    order_id: int
    symbol: str
    client_order_id: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    price_ticks: int  # 0 for MARKET
    orig_qty_steps: int
    executed_qty_steps: int
    cum_quote_usdc: float
    avg_price: float  # 0.0 until the first fill
    status: SimOrderStatus
    reduce_only: bool
    stp_mode: StpMode
    time_ms: int
    update_time_ms: int
    modify_count: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionView:
    """One-way position of one symbol with mark-price valuation."""

    symbol: str
    qty_steps: int  # signed: > 0 long
    entry_price: float
    mark_price: float
    unrealized_pnl_usdc: float
    notional_usdc: float  # signed, at mark
    initial_margin_usdc: float
    maint_margin_usdc: float
    open_order_initial_margin_usdc: float
    leverage: int
    cum_realized_pnl_usdc: float
    bid_notional_usdc: float
    ask_notional_usdc: float
    update_time_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BalanceView:
    """USDC balance of one account (single-asset cross margin)."""

    asset: str
    wallet_usdc: float
    unrealized_pnl_usdc: float
    margin_balance_usdc: float
    initial_margin_usdc: float
    position_initial_margin_usdc: float
    open_order_initial_margin_usdc: float
    maint_margin_usdc: float
    available_usdc: float
    update_time_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class UserTrade:
    """One fill of one account's order (``GET /fapi/v1/userTrades`` row)."""

    trade_id: int
    order_id: int
    symbol: str
    side: Side
    price_ticks: int
    qty_steps: int
    quote_qty_usdc: float
    realized_pnl_usdc: float
    commission_usdc: float
    maker: bool
    time_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class IncomeRecord:
    """One ``GET /fapi/v1/income`` row (FUNDING_FEE, COMMISSION, REALIZED_PNL)."""

    tran_id: int
    symbol: str
    income_type: str
    income_usdc: float
    time_ms: int
    trade_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FundingRecord:
    """One settled funding (``GET /fapi/v1/fundingRate`` row)."""

    symbol: str
    funding_time_ms: int
    funding_rate: float
    mark_price: float


@dataclass(frozen=True, slots=True, kw_only=True)
class DepthView:
    """Book snapshot as ``GET /fapi/v1/depth`` serves it; levels (price_ticks, qty), best first."""

    symbol: str
    last_update_id: int
    bids: tuple[tuple[int, float], ...]
    asks: tuple[tuple[int, float], ...]
    event_ms: int
    transaction_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketView:
    """Per-symbol market state for tickers and premiumIndex."""

    symbol: str
    last_update_id: int
    best_bid_ticks: int | None
    best_bid_qty: float
    best_ask_ticks: int | None
    best_ask_qty: float
    last_price_ticks: int | None
    last_qty: float
    mark_price: float
    index_price: float
    funding_rate: float
    next_funding_ms: int
    time_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PublicTrade:
    """One public trade kept for ``GET /fapi/v1/trades``."""

    trade_id: int
    price_ticks: int
    qty: float
    buyer_is_maker: bool
    time_ms: int


# --------------------------------------------------------------------------- published events


@dataclass(frozen=True, slots=True, kw_only=True)
class DepthDiffPublished:
    """A ``depthUpdate`` diff: levels hold the new absolute qty (0 = removed).

    ``first_id`` = U, ``last_id`` = u, ``prev_id`` = pu (the ``u`` of the previous diff of this symbol).
    """

    symbol: str
    first_id: int
    last_id: int
    prev_id: int
    bids: tuple[tuple[int, float], ...]
    asks: tuple[tuple[int, float], ...]
    event_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TradePublished:
    """A public trade (``trade``/``aggTrade``). ``buyer_is_maker`` = Binance ``m`` (aggressor sold)."""

    symbol: str
    trade_id: int
    price_ticks: int
    qty: float
    buyer_is_maker: bool
    event_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BookTickerPublished:
    """Best bid/ask changed (``bookTicker``); ``update_id`` shares the depth sequence."""

    symbol: str
    update_id: int
    bid_ticks: int | None
    bid_qty: float
    ask_ticks: int | None
    ask_qty: float
    event_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MarkPricePublished:
    """``markPriceUpdate``: mark/index price, current funding rate and next funding time."""

    symbol: str
    mark_price: float
    index_price: float
    funding_rate: float
    next_funding_ms: int
    event_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderUpdatePublished:
    """ORDER_TRADE_UPDATE for one account. ``last_*`` fields are zero unless ``exec_type`` is TRADE."""

    account: AccountId
    order: OrderView
    exec_type: ExecType
    last_qty_steps: int
    last_price_ticks: int
    commission_usdc: float
    realized_pnl_usdc: float
    maker: bool
    trade_id: int
    expiry_reason: int
    bid_notional_usdc: float
    ask_notional_usdc: float
    event_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionChange:
    """One position row of an ACCOUNT_UPDATE ``P`` entry."""

    symbol: str
    qty_steps: int
    entry_price: float
    cum_realized_pnl_usdc: float
    unrealized_pnl_usdc: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountUpdatePublished:
    """ACCOUNT_UPDATE for one account. ``reason`` is ``a.m`` (ORDER, FUNDING_FEE, ...).

    ``balance_change_usdc`` is ``bc`` (funding amount; 0 for ORDER). ``positions`` empty for FUNDING_FEE.
    """

    account: AccountId
    reason: str
    asset: str
    wallet_usdc: float
    balance_change_usdc: float
    positions: tuple[PositionChange, ...]
    symbol: str
    event_ms: int


SimEvent: TypeAlias = (
    DepthDiffPublished
    | TradePublished
    | BookTickerPublished
    | MarkPricePublished
    | OrderUpdatePublished
    | AccountUpdatePublished
)
