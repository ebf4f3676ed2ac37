"""SimExchange: the multi-symbol, multi-account core of the simulated Binance USDⓈ-M exchange.

Pure and synchronous: no asyncio, no wall clock; every call takes ``now_ms`` (exchange time, ms).
The wire server drives it with the wall clock and a feed task; the backtester drives the very same
object on a simulated clock. Every mutating call returns the events to publish, in order.

API NOTES FOR SIM-SERVER / BACKTEST (kept backward compatible; changes are listed here):
- Errors: every rejection raises ``SimError(code, msg)`` (a ``phoenix.errors.ExchangeError``) with
  Binance's exact code; nothing is recorded and no event is emitted for a rejected request.
- Wire strings → grid: ``symbols.wire_price_to_ticks`` / ``wire_qty_to_steps`` raise -1111/-4014/-4023.
- Feeds: ``apply_feed_event(ev)`` dispatches any ``feeds.FeedEvent``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from phoenix.core.types import Side, SymbolFilters
from phoenix.exchange.sim.sim_types import (
    AccountId,
    BalanceView,
    DepthView,
    FeeSchedule,
    FundingRecord,
    IncomeRecord,
    MarketView,
    OrderRequest,
    OrderView,
    PositionView,
    PublicTrade,
    SimEvent,
    UserTrade,
)
from phoenix.exchange.sim.symbols import SimSymbolSpec

Levels = Sequence[tuple[int, float]]


class SimExchange:
    """Simulated exchange: one matching book per symbol, accounts with one-way positions, timers.

    Args:
        filters: Exchange filters per symbol (e.g. ``symbols.default_filters()``).
        fees: Maker/taker commission schedule.
        leverage: Initial leverage of every account and symbol.
        include_own_orders_in_book: Publish our own resting orders in depth/bookTicker (as Binance does).
        specs: Optional full symbol specs (min/max price, market max qty...); derived from filters if absent.
        emit_public: Produce public market events (depth diffs, trades, bookTicker, markPrice). A backtest
            that does not need them may pass False to save allocations.
    """

    def __init__(
        self,
        filters: Mapping[str, SymbolFilters],
        *,
        fees: FeeSchedule = FeeSchedule(),
        leverage: int = 20,
        include_own_orders_in_book: bool = True,
        specs: Mapping[str, SimSymbolSpec] | None = None,
        emit_public: bool = True,
    ) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ accounts

    def add_account(self, api_key: str, balance_usdc: float) -> AccountId:
        """Create an account identified by ``api_key`` with a USDC wallet balance; returns its id."""
        raise NotImplementedError

    def account_for_key(self, api_key: str) -> AccountId | None:
        """The account of an API key, or None if unknown (the server answers -2015)."""
        raise NotImplementedError

    def set_leverage(self, account: AccountId, symbol: str, leverage: int, now_ms: int) -> int:
        """Set the account's leverage on ``symbol`` (1..max); returns it. -4028 if out of range."""
        raise NotImplementedError

    def get_leverage(self, account: AccountId, symbol: str) -> int:
        """Current leverage of the account on ``symbol``."""
        raise NotImplementedError

    @property
    def symbols(self) -> tuple[str, ...]:
        """Symbols traded on this exchange."""
        raise NotImplementedError

    def spec(self, symbol: str) -> SimSymbolSpec:
        """Full spec of ``symbol``; SimError -1121 if unknown."""
        raise NotImplementedError

    # ------------------------------------------------------------------ market data (from a feed)

    def apply_market_snapshot(self, symbol: str, bids: Levels, asks: Levels, now_ms: int) -> list[SimEvent]:
        """Replace the market part of the book (own orders stay); levels are (price_ticks, qty)."""
        raise NotImplementedError

    def apply_market_delta(self, symbol: str, bids: Levels, asks: Levels, now_ms: int) -> list[SimEvent]:
        """Set market levels to absolute quantities (qty 0 removes); may fill own orders it crosses."""
        raise NotImplementedError

    def apply_market_trade(
        self, symbol: str, price_ticks: int, qty: float, aggressor: Side, now_ms: int
    ) -> list[SimEvent]:
        """A market trade printed: advances queues at its price and fills own orders it reaches."""
        raise NotImplementedError

    def apply_mark_price(
        self,
        symbol: str,
        mark_price: float,
        funding_rate: float,
        next_funding_ms: int,
        now_ms: int,
        index_price: float | None = None,
    ) -> list[SimEvent]:
        """Update mark price and funding; settles funding first if ``now_ms`` reached the funding time."""
        raise NotImplementedError

    def apply_feed_event(self, event: object) -> list[SimEvent]:
        """Dispatch one ``feeds.FeedEvent`` (snapshot, delta, trade, mark price) at its own time."""
        raise NotImplementedError

    def advance(self, now_ms: int) -> list[SimEvent]:
        """Run timers up to ``now_ms``: countdownCancelAll expiries and funding settlements (every 8 h)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ trading

    def place_order(
        self, account: AccountId, req: OrderRequest, now_ms: int
    ) -> tuple[OrderView, list[SimEvent]]:
        """Validate, accept and match a new order; returns its state after the taker phase.

        Raises SimError: -1121 symbol, -4003/-4004/-4005 qty, -4013/-4002 price, -4164 notional,
        -4016/-4024 percent price, -4131 market protection, -2022 reduce-only, -2019 margin,
        -2025 max open orders, -4015/-4116 client id, -5021 FOK, -5022 GTX.
        """
        raise NotImplementedError

    def modify_order(
        self,
        account: AccountId,
        symbol: str,
        *,
        order_id: int | None = None,
        client_order_id: str | None = None,
        side: Side | None = None,
        price_ticks: int,
        qty_steps: int,
        now_ms: int,
    ) -> tuple[OrderView, list[SimEvent]]:
        """Amend price/qty of an open LIMIT order; it loses queue priority (re-queued at the back).

        Raises SimError -2013 (unknown/closed), -5025 (not LIMIT), -5027 (no change), filter codes.
        A new qty ≤ executed qty cancels the order; a GTX order whose new price would take is cancelled.
        """
        raise NotImplementedError

    def cancel_order(
        self,
        account: AccountId,
        symbol: str,
        *,
        order_id: int | None = None,
        client_order_id: str | None = None,
        now_ms: int,
    ) -> tuple[OrderView, list[SimEvent]]:
        """Cancel one open order. Raises SimError -2011 if unknown or already final."""
        raise NotImplementedError

    def cancel_all(self, account: AccountId, symbol: str, now_ms: int) -> list[SimEvent]:
        """Cancel every open order of the account on ``symbol``."""
        raise NotImplementedError

    def set_countdown_cancel_all(
        self, account: AccountId, symbol: str, countdown_ms: int, now_ms: int
    ) -> None:
        """Arm (0 disarms) the dead-man switch: cancel all at ``now_ms + countdown_ms`` unless renewed."""
        raise NotImplementedError

    # ------------------------------------------------------------------ queries

    def depth(self, symbol: str, limit: int = 1000, now_ms: int = 0) -> DepthView:
        """Published book (market + own orders) with the current ``lastUpdateId``."""
        raise NotImplementedError

    def market(self, symbol: str) -> MarketView:
        """Top of book, last trade, mark price and funding of ``symbol``."""
        raise NotImplementedError

    def recent_trades(self, symbol: str, limit: int = 500) -> list[PublicTrade]:
        """Most recent public trades, oldest first."""
        raise NotImplementedError

    def get_order(
        self,
        account: AccountId,
        symbol: str,
        *,
        order_id: int | None = None,
        client_order_id: str | None = None,
    ) -> OrderView:
        """Any order of the account (open or final). Raises SimError -2013 if unknown."""
        raise NotImplementedError

    def open_orders(self, account: AccountId, symbol: str | None = None) -> list[OrderView]:
        """Open orders of the account (one symbol or all), oldest first."""
        raise NotImplementedError

    def all_orders(self, account: AccountId, symbol: str) -> list[OrderView]:
        """Every order of the account on ``symbol`` (open and final), oldest first."""
        raise NotImplementedError

    def positions(self, account: AccountId) -> list[PositionView]:
        """Position of every symbol (zero rows included), valued at the mark price."""
        raise NotImplementedError

    def balance(self, account: AccountId) -> BalanceView:
        """USDC wallet, unrealised PnL, margins and available balance."""
        raise NotImplementedError

    def user_trades(self, account: AccountId, symbol: str) -> list[UserTrade]:
        """Fills of the account on ``symbol``, oldest first."""
        raise NotImplementedError

    def income(self, account: AccountId) -> list[IncomeRecord]:
        """Income history (REALIZED_PNL, COMMISSION, FUNDING_FEE), oldest first."""
        raise NotImplementedError

    def funding_history(self, symbol: str) -> list[FundingRecord]:
        """Settled funding rates of ``symbol``, oldest first."""
        raise NotImplementedError
