"""Domain types of the trading core: one definition of each concept.

Conventions (binding for every layer):
- Prices of our orders, quotes and fills are integers on the symbol's tick grid (``*_ticks``).
- Quantities of our orders, quotes, fills and positions are integers on the step grid (``*_steps``).
- Market book quantities are floats in base units (they are the market's, not ours).
- Money (PnL, fees, funding, notional) is float USDC (``*_usdc``).
- Time is integer nanoseconds (``ts_ns``) from the event or an injected clock; exchange times in ms.
Conversion between wire strings and grid integers happens once, at the edge, with ``SymbolFilters``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import TypeAlias


class Side(StrEnum):
    """Order side, spelled as on the wire."""

    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        """+1 for BUY, -1 for SELL: the sign of the position change a fill of this side causes."""
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        """The other side."""
        return Side.SELL if self is Side.BUY else Side.BUY


def _decimals(step: Decimal) -> int:
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SymbolFilters:
    """Exchange filters of one symbol, as read from exchangeInfo (never hand-configured).

    ``tick_size``/``step_size`` are kept as Decimal for exact wire formatting and as float for the hot path.
    """

    symbol: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    min_notional: Decimal
    max_qty: Decimal = Decimal("1000000")
    market_step_size: Decimal | None = None
    percent_up: Decimal = Decimal("1.05")
    percent_down: Decimal = Decimal("0.95")
    tick: float = field(init=False)
    step: float = field(init=False)
    min_qty_steps: int = field(init=False)
    min_notional_usdc: float = field(init=False)
    price_decimals: int = field(init=False)
    qty_decimals: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tick", float(self.tick_size))
        object.__setattr__(self, "step", float(self.step_size))
        object.__setattr__(self, "min_qty_steps", int((self.min_qty / self.step_size).to_integral_value()))
        object.__setattr__(self, "min_notional_usdc", float(self.min_notional))
        object.__setattr__(self, "price_decimals", _decimals(self.tick_size))
        object.__setattr__(self, "qty_decimals", _decimals(self.step_size))

    def price_to_ticks(self, price: float, side: Side | None = None) -> int:
        """Snap a price (USDC) to the tick grid.

        Bids round down and asks round up (more passive, never crossing); ``side=None`` rounds to nearest,
        which is what wire prices (already on the grid) need.
        """
        raw = price / self.tick
        nearest = round(raw)
        if abs(raw - nearest) < 1e-7:
            return int(nearest)
        if side is Side.BUY:
            return math.floor(raw)
        if side is Side.SELL:
            return math.ceil(raw)
        return int(nearest)

    def qty_to_steps(self, qty: float, exact: bool = False) -> int:
        """Convert a base-unit quantity to whole steps, rounding down (never sizes up) unless ``exact``."""
        raw = qty / self.step
        nearest = round(raw)
        if exact or abs(raw - nearest) < 1e-7:
            return int(nearest)
        return math.floor(raw)

    def ticks_to_price(self, ticks: int) -> float:
        """Price in USDC of a tick index."""
        return ticks * self.tick

    def steps_to_qty(self, steps: int) -> float:
        """Base-unit quantity of a step count."""
        return steps * self.step

    def format_price(self, ticks: int) -> str:
        """Exact wire string of a tick index (e.g. ``"3012.35"``)."""
        return f"{Decimal(ticks) * self.tick_size:.{self.price_decimals}f}"

    def format_qty(self, steps: int) -> str:
        """Exact wire string of a step count (e.g. ``"0.008"``)."""
        return f"{Decimal(steps) * self.step_size:.{self.qty_decimals}f}"

    def notional_usdc(self, ticks: int, steps: int) -> float:
        """Notional in USDC of ``steps`` at ``ticks``."""
        return ticks * self.tick * steps * self.step

    def min_steps_at(self, ticks: int) -> int:
        """Smallest step count that meets both min qty and min notional at this price."""
        if ticks <= 0:
            return self.min_qty_steps
        need = math.ceil(self.min_notional_usdc / (ticks * self.tick * self.step) - 1e-9)
        return max(self.min_qty_steps, need, 1)


# --------------------------------------------------------------------------- quotes and orders


@dataclass(frozen=True, slots=True, kw_only=True)
class Quote:
    """One desired resting order: a layer of the ladder."""

    side: Side
    price_ticks: int
    qty_steps: int
    layer: int  # 0 = nearest to the mid; near layers first, then far layers


@dataclass(frozen=True, slots=True, kw_only=True)
class QuoteSet:
    """The full desired ladder for one symbol at one moment. Bids descend, asks ascend."""

    symbol: str
    ts_ns: int
    bids: tuple[Quote, ...]
    asks: tuple[Quote, ...]
    reservation_price: float = 0.0
    half_spread_bps: float = 0.0
    pinning_side: Side | None = None  # the reducing side that is pinned to the touch, if any


class OrderStatus(StrEnum):
    """Own-order lifecycle. ``UNKNOWN`` = sent but outcome not known; resolved by query, never guessed."""

    PENDING_NEW = "PENDING_NEW"
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    PENDING_CANCEL = "PENDING_CANCEL"
    PENDING_MODIFY = "PENDING_MODIFY"
    UNKNOWN = "UNKNOWN"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"


class TimeInForce(StrEnum):
    """Binance timeInForce values."""

    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    GTX = "GTX"  # post-only


class OrderType(StrEnum):
    """Binance order types Phoenix uses."""

    LIMIT = "LIMIT"
    MARKET = "MARKET"


@dataclass(frozen=True, slots=True, kw_only=True)
class Fill:
    """The exchange filled (part of) one of our orders. Fills are facts, de-duplicated by ``trade_id``."""

    symbol: str
    client_order_id: str
    trade_id: int
    side: Side
    price_ticks: int
    qty_steps: int
    maker: bool
    fee_usdc: float  # commission paid (negative = rebate)
    realized_pnl_usdc: float  # as reported by the exchange ("rp")
    ts_ns: int


@dataclass(slots=True, kw_only=True)
class Position:
    """One-way-mode position of a symbol."""

    symbol: str
    qty_steps: int = 0  # signed: > 0 long, < 0 short
    entry_price: float = 0.0


# --------------------------------------------------------------------------- events (core inputs)


@dataclass(frozen=True, slots=True, kw_only=True)
class BookSnapshot:
    """Full L2 book replacing the local one. Levels are (price_ticks, qty base units)."""

    symbol: str
    ts_ns: int
    bids: tuple[tuple[int, float], ...]
    asks: tuple[tuple[int, float], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class BookDelta:
    """Changed L2 levels; qty 0 removes a level. Sequence checks are the adapter's job."""

    symbol: str
    ts_ns: int
    bids: tuple[tuple[int, float], ...]
    asks: tuple[tuple[int, float], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class TopOfBook:
    """Best bid/ask update (bookTicker)."""

    symbol: str
    ts_ns: int
    bid_ticks: int
    bid_qty: float
    ask_ticks: int
    ask_qty: float


@dataclass(frozen=True, slots=True, kw_only=True)
class TradePrinted:
    """A public trade. ``aggressor`` is the taker side (Binance ``m`` true ⇒ SELL aggressor)."""

    symbol: str
    ts_ns: int
    price_ticks: int
    qty: float
    aggressor: Side


@dataclass(frozen=True, slots=True, kw_only=True)
class MarkPriceUpdated:
    """Mark price and the current funding rate (fraction per 8 h, e.g. 0.0001 = 1 bp)."""

    symbol: str
    ts_ns: int
    mark_price: float
    funding_rate: float
    next_funding_ms: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderUpdated:
    """Exchange-reported state of one of our orders (fills come separately as ``OrderFilled``)."""

    symbol: str
    ts_ns: int
    client_order_id: str
    status: OrderStatus
    side: Side
    price_ticks: int
    qty_steps: int
    filled_steps: int = 0
    exchange_order_id: int | None = None
    error_code: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFilled:
    """One fill of one of our orders."""

    fill: Fill
    ts_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class FundingPaid:
    """A funding payment settled on a position (positive = received)."""

    symbol: str
    ts_ns: int
    amount_usdc: float


@dataclass(frozen=True, slots=True, kw_only=True)
class BalanceUpdated:
    """Wallet balance reported by the exchange (USDC)."""

    ts_ns: int
    wallet_usdc: float


@dataclass(frozen=True, slots=True, kw_only=True)
class TimerFired:
    """A periodic tick from the driver; the only way time passes without market events."""

    ts_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigChanged:
    """A validated new configuration took effect (reloadable fields only)."""

    ts_ns: int
    config: object  # phoenix.config.PhoenixConfig (kept untyped here to keep core free of config import)


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketDataStatus:
    """The adapter's view of one symbol's market data: ``in_sync`` False ⇒ the core must not quote it."""

    symbol: str
    ts_ns: int
    in_sync: bool
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionSynced:
    """Position as reported by the exchange (reconciliation: the exchange is the truth)."""

    symbol: str
    ts_ns: int
    qty_steps: int
    entry_price: float


Event: TypeAlias = (
    BookSnapshot
    | BookDelta
    | TopOfBook
    | TradePrinted
    | MarkPriceUpdated
    | OrderUpdated
    | OrderFilled
    | FundingPaid
    | BalanceUpdated
    | TimerFired
    | ConfigChanged
    | MarketDataStatus
    | PositionSynced
)


# --------------------------------------------------------------------------- actions (core outputs)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaceOrder:
    """Place a new order."""

    symbol: str
    client_order_id: str
    side: Side
    price_ticks: int
    qty_steps: int
    order_type: OrderType = OrderType.LIMIT
    time_in_force: TimeInForce = TimeInForce.GTX
    reduce_only: bool = False
    layer: int = -1


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelOrder:
    """Cancel one order by client order id."""

    symbol: str
    client_order_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ModifyOrder:
    """Amend price/qty of a resting order in place (loses queue priority)."""

    symbol: str
    client_order_id: str
    side: Side
    price_ticks: int
    qty_steps: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelAll:
    """Cancel every open order of a symbol."""

    symbol: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Flatten:
    """Close the whole position of a symbol with reduce-only taker orders."""

    symbol: str
    reason: str


Action: TypeAlias = PlaceOrder | CancelOrder | ModifyOrder | CancelAll | Flatten
