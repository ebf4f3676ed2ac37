"""Facts the trader reports alongside its actions, for the driver's logs and metrics.

The core never logs and never touches metrics; it returns these typed facts and the driver records them
(one log line and/or one counter per fact). Every trim, state change, grinding fire, stop-loss and
fail-closed cancel appears here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from phoenix.core.types import OrderStatus, Side
from phoenix.risk.guard import TradingState
from phoenix.risk.pretrade import Trim


@dataclass(frozen=True, slots=True, kw_only=True)
class QuotesComputed:
    """A requote ran: the ladder after risk (layers per side) and what execution did with it."""

    symbol: str
    ts_ns: int
    bid_layers: int
    ask_layers: int
    reservation_price: float
    half_spread_bps: float
    pinning_side: Side | None
    places: int
    cancels: int
    modifies: int
    risk_cancels: int
    deferred_requotes: int
    deferred_rate: int
    deferred_exposure: int
    tolerance_ticks: int


@dataclass(frozen=True, slots=True, kw_only=True)
class QuotesTrimmed:
    """Risk cut or removed quotes; one ``Trim`` (with its reason code) per affected layer."""

    symbol: str
    ts_ns: int
    trims: tuple[Trim, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class StateChanged:
    """A symbol's trading state changed (active / reducing_only / halted)."""

    symbol: str
    ts_ns: int
    old: TradingState
    new: TradingState
    reason: str
    until_ns: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class QuotesCancelled:
    """All of a symbol's orders were cancelled (fail closed, halt, stop-loss, shutdown)."""

    symbol: str
    ts_ns: int
    reason: str  # "stale_book", "out_of_sync", "halt:<why>", "stop_loss", "shutdown"
    orders: int


@dataclass(frozen=True, slots=True, kw_only=True)
class GrindFired:
    """Grinding sent its reduce-only IOC taker order (``count_total`` feeds ``mm_grind_count_total``)."""

    symbol: str
    ts_ns: int
    side: Side
    price_ticks: int
    qty_steps: int
    price_std_pct: float
    position_steps: int
    count_total: int


@dataclass(frozen=True, slots=True, kw_only=True)
class GrindReentryPlaced:
    """Grinding's maker re-entry was placed (size after the risk limit)."""

    symbol: str
    ts_ns: int
    side: Side
    price_ticks: int
    qty_steps: int
    wanted_qty_steps: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StopLossFired:
    """Equity fell ``drawdown_pct`` below its peak: cancel-all + flatten sent, trading latched halted."""

    ts_ns: int
    equity_usdc: float
    peak_equity_usdc: float
    drawdown_pct: float
    stop_loss_pct: float


@dataclass(frozen=True, slots=True, kw_only=True)
class GlobalCapChanged:
    """Total notional crossed ``total_notional_max`` (breached ⇒ every symbol only reduces)."""

    ts_ns: int
    breached: bool
    total_notional_usdc: float
    cap_usdc: float


@dataclass(frozen=True, slots=True, kw_only=True)
class FillApplied:
    """One of our fills changed the position (the position the risk layer sees)."""

    symbol: str
    ts_ns: int
    client_order_id: str
    trade_id: int
    side: Side
    price_ticks: int
    qty_steps: int
    maker: bool
    realized_pnl_usdc: float
    position_steps: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRejected:
    """The exchange refused a request (``-5022`` post-only would cross, filters, rate limit...)."""

    symbol: str
    ts_ns: int
    client_order_id: str
    error_code: int | None
    status: OrderStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAnomaly:
    """An order report that did not fit our bookkeeping (unknown id, impossible transition)."""

    symbol: str
    ts_ns: int
    client_order_id: str
    detail: str


Report: TypeAlias = (
    QuotesComputed
    | QuotesTrimmed
    | StateChanged
    | QuotesCancelled
    | GrindFired
    | GrindReentryPlaced
    | StopLossFired
    | GlobalCapChanged
    | FillApplied
    | OrderRejected
    | OrderAnomaly
)
