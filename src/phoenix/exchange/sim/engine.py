"""SimExchange: the multi-symbol, multi-account core of the simulated Binance USDⓈ-M exchange.

Pure and synchronous: no asyncio, no wall clock; every call takes ``now_ms`` (exchange time, ms).
The wire server drives it with the wall clock and a feed task; the backtester drives the very same
object on a simulated clock. Every mutating call returns the events to publish, in order.

API NOTES FOR SIM-SERVER / BACKTEST (kept backward compatible; changes are listed here):
- Errors: every rejection raises ``SimError(code, msg)`` (a ``phoenix.errors.ExchangeError``) with
  Binance's exact code; nothing is recorded and no event is emitted for a rejected request.
- Wire strings → grid: ``symbols.wire_price_to_ticks`` / ``wire_qty_to_steps`` raise -1111/-4014/-4023.
- Feeds: ``apply_feed_event(ev)`` dispatches any ``feeds.FeedEvent``.
- Every mutating call first runs due timers (countdownCancelAll, funding), so their events may lead
  the returned list (if the call then raises, they lead the next call's list); ``advance(now_ms)``
  runs them alone (call it every ~10 ms of exchange time).
- Depth diffs: one ``DepthDiffPublished`` per mutating call that changed the published book; the
  update id advances by the number of changed levels. Aggregating diffs into 100 ms frames is the
  server's job (U of the first, u of the last, pu of the first).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from phoenix.core.types import OrderType, Side, SymbolFilters, TimeInForce
from phoenix.exchange.sim.account import Account, unrealized_pnl
from phoenix.exchange.sim.feeds import FeedDelta, FeedMarkPrice, FeedSnapshot, FeedTrade
from phoenix.exchange.sim.fills import MarketState, Settlement, reduce_cap
from phoenix.exchange.sim.matching import ASK, BID, QTY_EPS, OwnOrder
from phoenix.exchange.sim.sim_types import (
    FUNDING_INTERVAL_MS,
    AccountId,
    BalanceView,
    DepthView,
    ExecType,
    ExpiryReason,
    FeeSchedule,
    FundingRecord,
    IncomeRecord,
    MarketView,
    MarkPricePublished,
    OrderRequest,
    OrderView,
    PositionView,
    PublicTrade,
    SimError,
    SimEvent,
    SimOrderStatus,
    TradePublished,
    UserTrade,
)
from phoenix.exchange.sim.symbols import SimSymbolSpec, spec_for

Levels = Sequence[tuple[int, float]]

_CLIENT_ID_RE = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
_NO_TIMER = 2**62
_MARKET_TAKE_BOUND = 0.05
_FIRST_ORDER_ID = 8_389_765_490_000_000_000
_RECENT_TRADES = 1000
MAX_MODIFICATIONS = 10_000  # amendments per order (Binance -5026)
_MSG_GTX = (
    "Due to the order could not be executed as maker, the Post Only order will be rejected. "
    "The order will not be recorded in the order history"
)
_MSG_FOK = "Due to the order could not be filled immediately, the FOK order has been rejected."


class SimExchange:
    """Simulated exchange: one matching book per symbol, accounts with one-way positions, timers.

    Args:
        filters: Exchange filters per symbol (e.g. ``symbols.default_filters()``).
        fees: Maker/taker commission schedule.
        leverage: Initial leverage of every account and symbol.
        include_own_orders_in_book: Publish resting participant orders in depth/bookTicker (as Binance does).
        specs: Optional full symbol specs (min/max price, market max qty...); derived from filters if absent.
        emit_public: Produce public market events (depth diffs, trades, bookTicker, markPrice). A backtest
            that does not need them may pass False to save allocations (update ids still advance).
        queue_model: ``conservative`` or ``proportional`` (see ``matching``).
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
        queue_model: str = "conservative",
    ) -> None:
        self._fees = fees
        self._default_leverage = leverage
        self._emit = emit_public
        self._markets: dict[str, MarketState] = {}
        for name, flt in filters.items():
            spec = specs[name] if specs is not None and name in specs else spec_for(flt)
            self._markets[name] = MarketState(spec, fees, include_own_orders_in_book, queue_model)
        self._accounts: dict[int, Account] = {}
        self._by_key: dict[str, AccountId] = {}
        self._next_order_id = _FIRST_ORDER_ID
        self._fx = Settlement(self._accounts, emit_public)
        self._next_timer_ms = _NO_TIMER
        self._pending: list[SimEvent] = []  # timer events not yet returned (a call raised after them)

    # ------------------------------------------------------------------ accounts

    def add_account(self, api_key: str, balance_usdc: float) -> AccountId:
        """Create an account identified by ``api_key`` with a USDC wallet balance; returns its id."""
        if api_key in self._by_key:
            raise ValueError(f"duplicate api key {api_key!r}")
        account_id = AccountId(len(self._accounts) + 1)
        acct = Account(account_id, api_key, balance_usdc)
        for name in self._markets:
            acct.leverage[name] = self._default_leverage
        self._accounts[account_id] = acct
        self._by_key[api_key] = account_id
        return account_id

    def account_for_key(self, api_key: str) -> AccountId | None:
        """The account of an API key, or None if unknown (the server answers -2015)."""
        return self._by_key.get(api_key)

    def set_leverage(self, account: AccountId, symbol: str, leverage: int, now_ms: int) -> int:
        """Set the account's leverage on ``symbol`` (1..max); returns it. -4028 if out of range."""
        m = self._market(symbol)
        acct = self._account(account)
        if not 1 <= leverage <= m.spec.max_leverage:
            raise SimError(-4028, "Leverage is not valid")
        acct.leverage[symbol] = leverage
        acct.update_time_ms = now_ms
        return leverage

    def get_leverage(self, account: AccountId, symbol: str) -> int:
        """Current leverage of the account on ``symbol``."""
        self._market(symbol)
        return self._account(account).leverage.get(symbol, self._default_leverage)

    @property
    def symbols(self) -> tuple[str, ...]:
        """Symbols traded on this exchange."""
        return tuple(self._markets)

    def spec(self, symbol: str) -> SimSymbolSpec:
        """Full spec of ``symbol``; SimError -1121 if unknown."""
        return self._market(symbol).spec

    # ------------------------------------------------------------------ market data (from a feed)

    def apply_market_snapshot(self, symbol: str, bids: Levels, asks: Levels, now_ms: int) -> list[SimEvent]:
        """Replace the market part of the book (own orders stay); levels are (price_ticks, qty)."""
        m = self._market(symbol)
        events: list[SimEvent] = []
        if now_ms >= self._next_timer_ms:
            self._run_timers(now_ms, self._pending)
        book = m.book
        book.clear_market()
        book.apply_levels(BID, bids)
        book.apply_levels(ASK, asks)
        book.clamp_queues()
        m.time_ms = now_ms
        self._fx.fill_crossed(m, now_ms, events)
        self._fx.finish(m, now_ms, events)
        return self._done(events)

    def apply_market_delta(self, symbol: str, bids: Levels, asks: Levels, now_ms: int) -> list[SimEvent]:
        """Set market levels to absolute quantities (qty 0 removes); fills own orders the market crosses."""
        m = self._market(symbol)
        events: list[SimEvent] = []
        if now_ms >= self._next_timer_ms:
            self._run_timers(now_ms, self._pending)
        book = m.book
        if bids:
            book.apply_levels(BID, bids)
        if asks:
            book.apply_levels(ASK, asks)
        m.time_ms = now_ms
        if book.own_steps[BID] or book.own_steps[ASK]:
            self._fx.fill_crossed(m, now_ms, events)
        self._fx.finish(m, now_ms, events)
        return self._done(events)

    def apply_market_trade(
        self, symbol: str, price_ticks: int, qty: float, aggressor: Side, now_ms: int
    ) -> list[SimEvent]:
        """A market trade printed: advances queues at its price and fills own orders it reaches.

        Resting orders priced through the trade fill completely (the aggressor passed them); at the
        trade's price the printed qty first eats the market size ahead of each order (FIFO), the
        excess fills the order.
        """
        m = self._market(symbol)
        events: list[SimEvent] = []
        if now_ms >= self._next_timer_ms:
            self._run_timers(now_ms, self._pending)
        m.time_ms = now_ms
        trade_id = m.next_trade_id
        m.next_trade_id += 1
        m.last_price_ticks = price_ticks
        m.last_qty = qty
        buyer_is_maker = aggressor is Side.SELL
        if self._emit:
            m.trades.append(PublicTrade(trade_id=trade_id, price_ticks=price_ticks, qty=qty,
                                        buyer_is_maker=buyer_is_maker, time_ms=now_ms))  # fmt: skip
            events.append(
                TradePublished(
                    symbol=symbol,
                    trade_id=trade_id,
                    price_ticks=price_ticks,
                    qty=qty,
                    buyer_is_maker=buyer_is_maker,
                    event_ms=now_ms,
                )
            )
        book = m.book
        si = BID if buyer_is_maker else ASK
        if not book.own_steps[si]:
            return self._done(events)
        orders = book.own_orders_crossed(si, price_ticks)
        if not orders:
            return self._done(events)
        step = m.step
        left = qty
        eaten = 0.0
        for o in orders:
            if o.status is not SimOrderStatus.NEW and o.status is not SimOrderStatus.PARTIALLY_FILLED:
                continue
            if o.price_ticks != price_ticks:
                self._fx.maker_fill(m, o, o.remaining_steps, now_ms, events)
                continue
            gap = o.queue_ahead - eaten
            if gap > QTY_EPS:
                take = gap if gap < left else left
                left -= take
                eaten += take
            if left <= QTY_EPS:
                break
            steps = int(left / step + 1e-6)
            if steps > o.remaining_steps:
                steps = o.remaining_steps
            if steps <= 0:
                break
            left -= steps * step
            self._fx.maker_fill(m, o, steps, now_ms, events)
        book.note_trade(si, price_ticks, qty)
        if eaten > 0.0:
            for o in book.own[si].get(price_ticks, ()):
                o.queue_ahead = o.queue_ahead - eaten if o.queue_ahead > eaten else 0.0
        self._fx.finish(m, now_ms, events)
        return self._done(events)

    def apply_mark_price(
        self,
        symbol: str,
        mark_price: float,
        funding_rate: float,
        next_funding_ms: int,
        now_ms: int,
        index_price: float | None = None,
    ) -> list[SimEvent]:
        """Update mark price and funding; settles funding first if ``now_ms`` reached the funding time.

        ``next_funding_ms`` 0 keeps the current schedule (first time: the next 8 h boundary).
        """
        m = self._market(symbol)
        events: list[SimEvent] = []
        if now_ms >= self._next_timer_ms:
            self._run_timers(now_ms, self._pending)
        m.mark_price = mark_price
        m.index_price = index_price if index_price is not None else mark_price
        m.funding_rate = funding_rate
        if next_funding_ms > now_ms and next_funding_ms > m.last_funding_ms:
            m.next_funding_ms = next_funding_ms  # a stale time (already settled) keeps our schedule
        elif m.next_funding_ms == 0:
            m.next_funding_ms = (now_ms // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS
        if m.next_funding_ms < self._next_timer_ms:
            self._next_timer_ms = m.next_funding_ms
        m.time_ms = now_ms
        if self._emit:
            events.append(
                MarkPricePublished(
                    symbol=symbol,
                    mark_price=mark_price,
                    index_price=m.index_price,
                    funding_rate=funding_rate,
                    next_funding_ms=m.next_funding_ms,
                    event_ms=now_ms,
                )
            )
        return self._done(events)

    def apply_feed_event(self, event: object) -> list[SimEvent]:
        """Dispatch one ``feeds.FeedEvent`` (snapshot, delta, trade, mark price) at its own time."""
        if isinstance(event, FeedDelta):
            return self.apply_market_delta(event.symbol, event.bids, event.asks, event.ts_ms)
        if isinstance(event, FeedTrade):
            return self.apply_market_trade(
                event.symbol, event.price_ticks, event.qty, event.aggressor, event.ts_ms
            )
        if isinstance(event, FeedMarkPrice):
            return self.apply_mark_price(
                event.symbol,
                event.mark_price,
                event.funding_rate,
                event.next_funding_ms,
                event.ts_ms,
                index_price=event.index_price,
            )
        if isinstance(event, FeedSnapshot):
            return self.apply_market_snapshot(event.symbol, event.bids, event.asks, event.ts_ms)
        raise TypeError(f"not a feed event: {event!r}")

    def advance(self, now_ms: int) -> list[SimEvent]:
        """Run timers up to ``now_ms``: countdownCancelAll expiries and funding settlements (every 8 h)."""
        events: list[SimEvent] = []
        if now_ms >= self._next_timer_ms:
            self._run_timers(now_ms, self._pending)
        return self._done(events)

    # ------------------------------------------------------------------ trading

    def place_order(
        self, account: AccountId, req: OrderRequest, now_ms: int
    ) -> tuple[OrderView, list[SimEvent]]:
        """Validate, accept and match a new order; returns its state after the taker phase.

        Raises SimError: -1121 symbol, -1116 type, -4003/-4004/-4005 qty, -4013/-4002 price, -4164
        notional, -4016/-4024 percent price, -4131 market protection, -2022 reduce-only, -2019 margin,
        -2025 max open orders, -4015/-4116 client id, -5021 FOK, -5022 GTX.
        """
        acct = self._account(account)
        m = self._market(req.symbol)
        events: list[SimEvent] = []
        if now_ms >= self._next_timer_ms:
            self._run_timers(now_ms, self._pending)
        spec = m.spec
        book = m.book
        is_market = req.order_type is OrderType.MARKET
        if req.order_type is not OrderType.LIMIT and not is_market:
            raise SimError(-1116, "Invalid orderType.")
        side_idx = BID if req.side is Side.BUY else ASK
        rsi = 1 - side_idx
        qty = req.qty_steps
        if qty <= 0:
            raise SimError(-4003, "Quantity less than or equal to zero.")
        if qty < m.filters.min_qty_steps:
            raise SimError(-4004, "Quantity less than min quantity.")
        if qty > (m.market_max_qty_steps if is_market else m.max_qty_steps):
            raise SimError(-4005, "Quantity greater than max quantity.")
        so = acct.symbol_orders(req.symbol)
        cid = req.client_order_id
        if cid is None:
            cid = f"sim-{self._next_order_id}"
        elif not _CLIENT_ID_RE.match(cid):
            raise SimError(-4015, "Client order id is not valid.")
        elif cid in so.by_client_id:
            raise SimError(-4116, "clientOrderId is duplicated.")
        ref = m.ref_price()
        best_opp = book.best(rsi)
        limit: int | None
        if is_market:
            if best_opp is not None and ref > 0.0:
                if req.side is Side.BUY:
                    limit = math.floor(ref * (1.0 + _MARKET_TAKE_BOUND) / m.tick + 1e-9)
                    if best_opp > limit:
                        raise SimError(
                            -4131,
                            "The counterparty's best price does not meet the PERCENT_PRICE filter limit.",
                        )
                else:
                    limit = math.ceil(ref * (1.0 - _MARKET_TAKE_BOUND) / m.tick - 1e-9)
                    if best_opp < limit:
                        raise SimError(
                            -4131,
                            "The counterparty's best price does not meet the PERCENT_PRICE filter limit.",
                        )
            else:
                limit = None
            notional_price = best_opp * m.tick if best_opp is not None else ref
            price_ticks = 0
        else:
            price_ticks = req.price_ticks
            self._check_price(m, req.side, price_ticks, ref)
            limit = price_ticks
            notional_price = price_ticks * m.tick
        notional = notional_price * qty * m.step
        if not req.reduce_only and notional_price > 0.0 and notional < m.filters.min_notional_usdc - 1e-9:
            raise SimError(
                -4164,
                f"Order's notional must be no smaller than {m.filters.min_notional.normalize():f} "
                "(unless you choose reduce only).",
            )
        if len(so.by_client_id) >= spec.max_num_orders:
            raise SimError(-2025, "Reach max open order limit.")
        if req.reduce_only and reduce_cap(acct, req.symbol, req.side) == 0:
            raise SimError(-2022, "ReduceOnly Order is rejected.")
        tif = req.time_in_force
        if (
            not is_market
            and tif is TimeInForce.GTX
            and best_opp is not None
            and ((best_opp <= price_ticks) if req.side is Side.BUY else (best_opp >= price_ticks))
        ):
            raise SimError(-5022, _MSG_GTX)
        if not is_market and tif is TimeInForce.FOK and book.available_steps(rsi, limit, qty) < qty:
            raise SimError(-5021, _MSG_FOK)
        if not req.reduce_only:
            extra = notional_price * qty * m.step
            self._check_margin(
                acct, m, extra if req.side is Side.BUY else 0.0, extra if req.side is Side.SELL else 0.0
            )

        order = OwnOrder(
            order_id=self._next_order_id,
            account=account,
            symbol=req.symbol,
            client_order_id=cid,
            side=req.side,
            order_type=req.order_type,
            time_in_force=TimeInForce.GTC if is_market else tif,
            price_ticks=price_ticks,
            qty_steps=qty,
            reduce_only=req.reduce_only,
            stp_mode=req.stp_mode,
            now_ms=now_ms,
        )
        self._next_order_id += 1
        acct.track_open(order, m.tick, m.step)
        self._fx.order_event(m, order, ExecType.NEW, now_ms, events)
        reason = self._fx.take(m, order, limit, now_ms, events)
        if order.remaining_steps > 0 and order.status.is_open:
            if reason == 0 and not is_market and (tif is TimeInForce.GTC or tif is TimeInForce.GTX):
                book.add_own(order)
            else:
                if reason == 0:
                    reason = ExpiryReason.IOC_REMAINDER
                status = (
                    SimOrderStatus.EXPIRED_IN_MATCH
                    if reason == ExpiryReason.IOC_REMAINDER_STP
                    else SimOrderStatus.EXPIRED
                )
                self._fx.close(m, order, status, ExecType.EXPIRED, reason, now_ms, events)
        self._fx.finish(m, now_ms, events)
        return order.view(m.tick, m.step), self._done(events)

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

        Raises SimError -2013 (unknown/closed), -5025 (not LIMIT), -5026 (already amended
        ``MAX_MODIFICATIONS`` times), -5027 (no change), -4003/-4004/-4005,
        -4013/-4002, -4016/-4024, -5029 (notional), -2019 (margin). A new qty ≤ executed qty cancels the
        order; a GTX order whose new price would take is cancelled; a GTC order that crosses trades.
        """
        acct = self._account(account)
        m = self._market(symbol)
        events: list[SimEvent] = []
        if now_ms >= self._next_timer_ms:
            self._run_timers(now_ms, self._pending)
        order = self._find(acct, symbol, order_id, client_order_id)
        if order is None or not order.status.is_open:
            raise SimError(-2013, "Order does not exist.")
        if order.order_type is not OrderType.LIMIT:
            raise SimError(-5025, "Only limit order is supported.")
        if order.modify_count >= MAX_MODIFICATIONS:
            raise SimError(-5026, "Exceed maximum modify order limit.")
        if side is not None and side is not order.side:
            raise SimError(-1130, "Data sent for parameter 'side' is not valid.")
        if price_ticks == order.price_ticks and qty_steps == order.orig_qty_steps:
            raise SimError(-5027, "No need to modify the order.")
        if qty_steps <= 0:
            raise SimError(-4003, "Quantity less than or equal to zero.")
        if qty_steps < m.filters.min_qty_steps:
            raise SimError(-4004, "Quantity less than min quantity.")
        if qty_steps > m.max_qty_steps:
            raise SimError(-4005, "Quantity greater than max quantity.")
        self._check_price(m, order.side, price_ticks, m.ref_price())
        if (
            not order.reduce_only
            and price_ticks * m.tick * qty_steps * m.step < m.filters.min_notional_usdc - 1e-9
        ):
            raise SimError(
                -5029, f"Order's notional must be no smaller than {m.filters.min_notional.normalize():f}"
            )
        if not order.reduce_only:
            old = order.price_ticks * m.tick * order.remaining_steps * m.step
            new = price_ticks * m.tick * max(0, qty_steps - order.executed_steps) * m.step
            extra = max(0.0, new - old)
            self._check_margin(acct, m, extra if order.side is Side.BUY else 0.0,
                               extra if order.side is Side.SELL else 0.0)  # fmt: skip
        book = m.book
        if qty_steps <= order.executed_steps:
            self._fx.close(m, order, SimOrderStatus.CANCELED, ExecType.CANCELED, 0, now_ms, events)
            self._fx.finish(m, now_ms, events)
            return order.view(m.tick, m.step), self._done(events)
        rsi = 1 - order.side_idx
        best_opp = book.best(rsi)
        crosses = best_opp is not None and (
            best_opp <= price_ticks if order.side is Side.BUY else best_opp >= price_ticks
        )
        if crosses and order.time_in_force is TimeInForce.GTX:
            self._fx.close(m, order, SimOrderStatus.CANCELED, ExecType.CANCELED, 0, now_ms, events)
            self._fx.finish(m, now_ms, events)
            return order.view(m.tick, m.step), self._done(events)
        # re-queue at the back with the new values
        if order.resting:
            book.remove_own(order)
        acct.untrack_open(order, m.tick, m.step)
        order.price_ticks = price_ticks
        order.orig_qty_steps = qty_steps
        order.modify_count += 1
        order.update_time_ms = now_ms
        acct.track_open(order, m.tick, m.step)
        self._fx.order_event(m, order, ExecType.AMENDMENT, now_ms, events)
        reason = 0
        if crosses:
            reason = self._fx.take(m, order, price_ticks, now_ms, events)
        if order.status.is_open and order.remaining_steps > 0:
            if reason == 0 and order.time_in_force in (TimeInForce.GTC, TimeInForce.GTX):
                book.add_own(order)
            else:
                status = (
                    SimOrderStatus.EXPIRED_IN_MATCH
                    if reason in (ExpiryReason.IOC_REMAINDER_STP, ExpiryReason.STP)
                    else SimOrderStatus.EXPIRED
                )
                self._fx.close(
                    m, order, status, ExecType.EXPIRED, reason or ExpiryReason.IOC_REMAINDER, now_ms, events
                )
        self._fx.finish(m, now_ms, events)
        return order.view(m.tick, m.step), self._done(events)

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
        acct = self._account(account)
        m = self._market(symbol)
        events: list[SimEvent] = []
        if now_ms >= self._next_timer_ms:
            self._run_timers(now_ms, self._pending)
        order = self._find(acct, symbol, order_id, client_order_id)
        if order is None or not order.status.is_open:
            raise SimError(-2011, "Unknown order sent.")
        self._fx.close(m, order, SimOrderStatus.CANCELED, ExecType.CANCELED, 0, now_ms, events)
        self._fx.finish(m, now_ms, events)
        return order.view(m.tick, m.step), self._done(events)

    def cancel_all(self, account: AccountId, symbol: str, now_ms: int) -> list[SimEvent]:
        """Cancel every open order of the account on ``symbol``."""
        acct = self._account(account)
        m = self._market(symbol)
        events: list[SimEvent] = []
        if now_ms >= self._next_timer_ms:
            self._run_timers(now_ms, self._pending)
        self._fx.cancel_all(acct, m, now_ms, events)
        return self._done(events)

    def set_countdown_cancel_all(
        self, account: AccountId, symbol: str, countdown_ms: int, now_ms: int
    ) -> None:
        """Arm (0 disarms) the dead-man switch: cancel all at ``now_ms + countdown_ms`` unless renewed."""
        acct = self._account(account)
        self._market(symbol)
        if countdown_ms < 0:
            raise SimError(-1130, "Data sent for parameter 'countdownTime' is not valid.")
        if countdown_ms == 0:
            acct.countdown_deadline_ms.pop(symbol, None)
            return
        deadline = now_ms + countdown_ms
        acct.countdown_deadline_ms[symbol] = deadline
        if deadline < self._next_timer_ms:
            self._next_timer_ms = deadline

    # ------------------------------------------------------------------ queries

    def depth(self, symbol: str, limit: int = 1000, now_ms: int = 0) -> DepthView:
        """Published book (market + own orders) with the current ``lastUpdateId``."""
        m = self._market(symbol)
        book = m.book
        return DepthView(
            symbol=symbol,
            last_update_id=book.update_id,
            bids=book.levels(BID, limit),
            asks=book.levels(ASK, limit),
            event_ms=now_ms or m.time_ms,
            transaction_ms=m.time_ms,
        )

    def market(self, symbol: str) -> MarketView:
        """Top of book, last trade, mark price and funding of ``symbol``."""
        m = self._market(symbol)
        bid, bid_qty = m.book.top(BID)
        ask, ask_qty = m.book.top(ASK)
        return MarketView(
            symbol=symbol,
            last_update_id=m.book.update_id,
            best_bid_ticks=bid,
            best_bid_qty=bid_qty,
            best_ask_ticks=ask,
            best_ask_qty=ask_qty,
            last_price_ticks=m.last_price_ticks,
            last_qty=m.last_qty,
            mark_price=m.mark_price if m.mark_price > 0.0 else m.ref_price(),
            index_price=m.index_price if m.index_price > 0.0 else m.ref_price(),
            funding_rate=m.funding_rate,
            next_funding_ms=m.next_funding_ms,
            time_ms=m.time_ms,
        )

    def recent_trades(self, symbol: str, limit: int = 500) -> list[PublicTrade]:
        """Most recent public trades, oldest first."""
        trades = self._market(symbol).trades
        return list(trades)[-limit:] if limit > 0 else []

    def get_order(
        self,
        account: AccountId,
        symbol: str,
        *,
        order_id: int | None = None,
        client_order_id: str | None = None,
    ) -> OrderView:
        """Any order of the account (open or final). Raises SimError -2013 if unknown."""
        acct = self._account(account)
        m = self._market(symbol)
        order = self._find(acct, symbol, order_id, client_order_id)
        if order is None:
            raise SimError(-2013, "Order does not exist.")
        return order.view(m.tick, m.step)

    def queue_ahead(
        self,
        account: AccountId,
        symbol: str,
        *,
        order_id: int | None = None,
        client_order_id: str | None = None,
    ) -> float | None:
        """Market size (base units) still ahead of a resting order at its price; None if not resting.

        Participants' orders ahead in FIFO are not included (see ``matching``); -2013 if unknown.
        """
        acct = self._account(account)
        self._market(symbol)
        order = self._find(acct, symbol, order_id, client_order_id)
        if order is None:
            raise SimError(-2013, "Order does not exist.")
        return order.queue_ahead if order.resting else None

    def open_orders(self, account: AccountId, symbol: str | None = None) -> list[OrderView]:
        """Open orders of the account (one symbol or all), oldest first."""
        acct = self._account(account)
        names = [symbol] if symbol is not None else list(self._markets)
        out: list[OrderView] = []
        for name in names:
            m = self._market(name)
            so = acct.open.get(name)
            if so is None:
                continue
            orders = sorted(so.by_client_id.values(), key=lambda o: o.order_id)
            out.extend(o.view(m.tick, m.step) for o in orders)
        return out

    def all_orders(self, account: AccountId, symbol: str) -> list[OrderView]:
        """Every order of the account on ``symbol`` (open and final), oldest first."""
        acct = self._account(account)
        m = self._market(symbol)
        return [o.view(m.tick, m.step) for o in acct.orders.values() if o.symbol == symbol]

    def positions(self, account: AccountId) -> list[PositionView]:
        """Position of every symbol (zero rows included), valued at the mark price."""
        acct = self._account(account)
        out: list[PositionView] = []
        for name, m in self._markets.items():
            pos = acct.position(name)
            mark = m.ref_price()
            pos_im, ord_im = acct.margin_of(name, mark, m.step)
            so = acct.open.get(name)
            notional = pos.qty_steps * m.step * mark
            out.append(
                PositionView(
                    symbol=name,
                    qty_steps=pos.qty_steps,
                    entry_price=pos.entry_price,
                    mark_price=mark,
                    unrealized_pnl_usdc=unrealized_pnl(pos, mark, m.step),
                    notional_usdc=notional,
                    initial_margin_usdc=pos_im,
                    maint_margin_usdc=abs(notional) * m.spec.maint_margin_ratio,
                    open_order_initial_margin_usdc=ord_im,
                    leverage=acct.leverage.get(name, self._default_leverage),
                    cum_realized_pnl_usdc=pos.cum_realized_pnl_usdc,
                    bid_notional_usdc=so.bid_notional_usdc if so is not None else 0.0,
                    ask_notional_usdc=so.ask_notional_usdc if so is not None else 0.0,
                    update_time_ms=pos.update_time_ms,
                )
            )
        return out

    def balance(self, account: AccountId) -> BalanceView:
        """USDC wallet, unrealised PnL, margins and available balance."""
        acct = self._account(account)
        upnl, pos_im, ord_im, maint = self._totals(acct)
        margin_balance = acct.wallet_usdc + upnl
        return BalanceView(
            asset="USDC",
            wallet_usdc=acct.wallet_usdc,
            unrealized_pnl_usdc=upnl,
            margin_balance_usdc=margin_balance,
            initial_margin_usdc=pos_im + ord_im,
            position_initial_margin_usdc=pos_im,
            open_order_initial_margin_usdc=ord_im,
            maint_margin_usdc=maint,
            available_usdc=margin_balance - pos_im - ord_im,
            update_time_ms=acct.update_time_ms,
        )

    def user_trades(self, account: AccountId, symbol: str) -> list[UserTrade]:
        """Fills of the account on ``symbol``, oldest first."""
        self._market(symbol)
        return list(self._account(account).trades.get(symbol, ()))

    def income(self, account: AccountId) -> list[IncomeRecord]:
        """Income history (REALIZED_PNL, COMMISSION, FUNDING_FEE), oldest first."""
        return list(self._account(account).income)

    def funding_history(self, symbol: str) -> list[FundingRecord]:
        """Settled funding rates of ``symbol``, oldest first."""
        return list(self._market(symbol).funding)

    # ------------------------------------------------------------------ internals: lookup

    def _done(self, events: list[SimEvent]) -> list[SimEvent]:
        # timer events run at the start of a call lead its result (kept across a call that raised)
        if self._pending:
            events[:0] = self._pending
            self._pending = []
        return events

    def _market(self, symbol: str) -> MarketState:
        m = self._markets.get(symbol)
        if m is None:
            raise SimError(-1121, "Invalid symbol.")
        return m

    def _account(self, account: AccountId) -> Account:
        acct = self._accounts.get(account)
        if acct is None:
            raise SimError(-2015, "Invalid API-key, IP, or permissions for action.", http_status=401)
        return acct

    @staticmethod
    def _find(
        acct: Account, symbol: str, order_id: int | None, client_order_id: str | None
    ) -> OwnOrder | None:
        if order_id is not None:
            order = acct.orders.get(order_id)
            return order if order is not None and order.symbol == symbol else None
        if client_order_id is not None:
            so = acct.open.get(symbol)
            if so is not None and client_order_id in so.by_client_id:
                return so.by_client_id[client_order_id]
            return acct.closed_by_client_id.get((symbol, client_order_id))
        raise SimError(
            -1102, "Param 'orderId' or 'origClientOrderId' must be sent, but both were empty/null!"
        )

    # ------------------------------------------------------------------ internals: checks

    @staticmethod
    def _check_price(m: MarketState, side: Side, price_ticks: int, ref: float) -> None:
        if price_ticks <= 0 or (m.min_price_ticks and price_ticks < m.min_price_ticks):
            raise SimError(-4013, "Price less than min price.")
        if m.max_price_ticks and price_ticks > m.max_price_ticks:
            raise SimError(-4002, "Price greater than max price.")
        if ref > 0.0:
            price = price_ticks * m.tick
            if side is Side.BUY and price > ref * m.percent_up + 1e-9:
                raise SimError(-4016, "Price is higher than mark price multiplier cap.")
            if side is Side.SELL and price < ref * m.percent_down - 1e-9:
                raise SimError(-4024, "Price is lower than mark price multiplier floor.")

    def _totals(
        self, acct: Account, extra: tuple[str, float, float] | None = None
    ) -> tuple[float, float, float, float]:
        # (unrealised pnl, position IM, open-order IM, maintenance margin) over all symbols
        upnl = pos_im = ord_im = maint = 0.0
        for name, pos in acct.positions.items():
            m = self._markets[name]
            mark = m.ref_price()
            upnl += unrealized_pnl(pos, mark, m.step)
            maint += abs(pos.qty_steps) * m.step * mark * m.spec.maint_margin_ratio
        for name in set(acct.positions) | set(acct.open):
            m = self._markets[name]
            eb, ea = (extra[1], extra[2]) if extra is not None and extra[0] == name else (0.0, 0.0)
            p, o = acct.margin_of(name, m.ref_price(), m.step, eb, ea)
            pos_im += p
            ord_im += o
        if extra is not None and extra[0] not in acct.positions and extra[0] not in acct.open:
            m = self._markets[extra[0]]
            p, o = acct.margin_of(extra[0], m.ref_price(), m.step, extra[1], extra[2])
            pos_im += p
            ord_im += o
        return upnl, pos_im, ord_im, maint

    def _check_margin(self, acct: Account, m: MarketState, extra_bid: float, extra_ask: float) -> None:
        upnl, pos_im, ord_im, _ = self._totals(acct, (m.symbol, extra_bid, extra_ask))
        if pos_im + ord_im > acct.wallet_usdc + upnl + 1e-9:
            raise SimError(-2019, "Margin is insufficient.")

    def _run_timers(self, now_ms: int, events: list[SimEvent]) -> None:
        """Funding settlements and countdownCancelAll expiries due at ``now_ms``; recompute the next timer."""
        nxt = _NO_TIMER
        for m in self._markets.values():
            settled = 0
            while 0 < m.next_funding_ms <= now_ms and settled < 3:
                self._fx.settle_funding(m, m.next_funding_ms, now_ms, events)
                m.next_funding_ms += FUNDING_INTERVAL_MS
                settled += 1
            while 0 < m.next_funding_ms <= now_ms:  # a long gap: skip the periods nobody saw
                m.next_funding_ms += FUNDING_INTERVAL_MS
            if 0 < m.next_funding_ms < nxt:
                nxt = m.next_funding_ms
        for acct in self._accounts.values():
            if not acct.countdown_deadline_ms:
                continue
            for symbol, deadline in list(acct.countdown_deadline_ms.items()):
                if deadline <= now_ms:
                    del acct.countdown_deadline_ms[symbol]
                    self._fx.cancel_all(acct, self._markets[symbol], now_ms, events)
                elif deadline < nxt:
                    nxt = deadline
        self._next_timer_ms = nxt
