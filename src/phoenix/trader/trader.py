"""The trader: the one object every driver (live runner, backtester) feeds events and executes.

``on_event`` is synchronous and pure with respect to the outside world: time comes only from event
``ts_ns``. The pipeline for a requote of one symbol is::

    store (book, signals, position) → strategy.quote → risk.pretrade.trim_quotes (directional, reasons)
        → execution.Planner (diff on the lattice, exposure gate, flicker + order-rate budgets) → actions

Requotes happen when the symbol's book changed and at least ``quote_interval_ms`` (stretched by the
flicker guard) passed since the last one, on every ``TimerFired`` when due, and at once after a fill.
Market data that is out of sync, or a book older than ``global.stale_book_ms`` at a timer, fails closed:
the symbol's orders are cancelled and it is not quoted until the data is good again.

Driver contract: execute the actions in order (``PlaceOrder`` runs of one symbol may be sent as batches of
five); report each outcome back as ``OrderUpdated`` (ack ⇒ NEW with the order's price/qty, refusal ⇒
REJECTED + ``error_code``, timeout ⇒ UNKNOWN, later resolved by a query), every fill as ``OrderFilled``,
and after a ``CancelAll`` the resulting per-order CANCELED updates (Binance sends them on the user stream).
``Flatten`` means: close the symbol's whole position with reduce-only taker orders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from phoenix.config import PhoenixConfig
from phoenix.core.store import Store, SymbolState
from phoenix.core.types import (
    Action,
    BalanceUpdated,
    BookDelta,
    BookSnapshot,
    CancelAll,
    ConfigChanged,
    Event,
    Flatten,
    FundingPaid,
    MarketDataStatus,
    MarkPriceUpdated,
    OrderFilled,
    OrderStatus,
    OrderType,
    OrderUpdated,
    PositionSynced,
    Quote,
    QuoteSet,
    Side,
    SymbolFilters,
    TimeInForce,
    TimerFired,
    TopOfBook,
    TradePrinted,
)
from phoenix.execution.orders import TERMINAL, LiveOrder, OrderPurpose, OrderTracker
from phoenix.execution.planner import Planner, bands, base_band_ticks
from phoenix.execution.ratebudget import OrderRateBudget
from phoenix.risk.flicker import FlickerGuard
from phoenix.risk.grinding import Grinder, GrindPhase, GrindReentry
from phoenix.risk.guard import StateChange, SymbolGuard
from phoenix.risk.portfolio import Portfolio
from phoenix.risk.pretrade import Limits, side_limits, trim_quotes
from phoenix.strategy.base import Strategy, load_strategy
from phoenix.strategy.finishing import refinish
from phoenix.trader.reports import (
    FillApplied,
    GlobalCapChanged,
    GrindFired,
    GrindReentryPlaced,
    OrderAnomaly,
    OrderRejected,
    QuotesCancelled,
    QuotesComputed,
    QuotesTrimmed,
    Report,
    StateChanged,
    StopLossFired,
)

_MS = 1_000_000
REENTRY_LAYER = 1000  # layer index of grinding's re-entry while it travels through the risk trim
POST_ONLY_REJECTED = -5022
GTX_BACKOFF_MAX_TICKS = 5  # layer index of grinding's re-entry while it travels through the risk trim


@dataclass(slots=True)
class Decision:
    """What the trader wants done (actions, in order) and the facts behind it (reports)."""

    actions: list[Action] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)

    def extend(self, other: Decision) -> None:
        """Append another decision's actions and reports."""
        self.actions.extend(other.actions)
        self.reports.extend(other.reports)


@dataclass(slots=True)
class _SymbolRuntime:
    guard: SymbolGuard
    flicker: FlickerGuard
    grinder: Grinder
    last_quote_ns: int = -(10**18)
    dirty: bool = False
    failed_closed: bool = False  # quotes cancelled for stale / out-of-sync data; not quoting
    backlog: bool = False  # the last plan deferred something: re-plan at the next timer
    pending_reentry: GrindReentry | None = None
    gtx_backoff_ticks: dict[Side, int] = field(default_factory=dict)  # -5022 ⇒ stay this far off the touch
    gtx_backoff_until_ns: int = 0
    last_inputs: tuple[object, ...] | None = None  # everything the last requote depended on
    last_bid_layers: int = 0
    last_ask_layers: int = 0


class Trader:
    """Strategy + risk + execution for every configured symbol.

    Args:
        config: The validated configuration.
        filters: Exchange filters per symbol (from exchangeInfo).
        wallet_usdc: Wallet balance at start (USDC).
        strategy: Strategy name (default ``global.strategy``).
        id_seed_ms: Epoch ms at process start, for client order ids unique across restarts.
        use_modify: Amend orders in place (one request) instead of cancel + place.
        qty_tolerance: A kept order's remaining size may fall short of the quote by this fraction.
        depth_tolerance_frac: Band of a layer = at least this fraction of its distance from the mid.
        lattice_outer_frac: Band away from the mid = at least this fraction of the local layer spacing.
        lattice_inner_frac: Band towards the mid = at least this fraction of the local layer spacing
            (outer + inner > 1 makes the ladder a lattice; the excess over 1 is the hysteresis).
        gtx_backoff_ms: After a -5022 (post-only would cross), that side stays one more tick off the touch
            (up to 5) for this long.
        skip_unchanged: Skip a requote whose inputs (touch, position, signals second, mark/funding, own
            orders, states, budgets) are identical to the last one's: it would send nothing. Depth updates
            below the touch are the common case.
    """

    def __init__(
        self,
        config: PhoenixConfig,
        filters: Mapping[str, SymbolFilters],
        *,
        wallet_usdc: float,
        strategy: str | None = None,
        id_seed_ms: int = 0,
        use_modify: bool = True,
        qty_tolerance: float = 0.4,
        depth_tolerance_frac: float = 0.25,
        lattice_outer_frac: float = 2.25,
        lattice_inner_frac: float = 0.75,
        gtx_backoff_ms: int = 1000,
        skip_unchanged: bool = True,
    ) -> None:
        self.config = config
        self.store = Store(config, filters, wallet_usdc)
        self.orders = OrderTracker(id_seed_ms)
        self.portfolio = Portfolio()
        self._strategy_name = strategy or config.global_.strategy
        self._pinned_strategy = strategy is not None
        self.strategy: Strategy = load_strategy(self._strategy_name)
        self.planner = Planner(use_modify=use_modify, qty_tolerance=qty_tolerance)
        self.depth_tolerance_frac = depth_tolerance_frac
        self.lattice_outer_frac = lattice_outer_frac
        self.lattice_inner_frac = lattice_inner_frac
        self.gtx_backoff_ns = gtx_backoff_ms * _MS
        self.skip_unchanged = skip_unchanged
        self._version = 0  # bumped by every event that can change a requote's inputs besides the book top
        self.rate = OrderRateBudget(config.global_.orders_per_10s_max, symbols=len(config.enabled_symbols))
        self.stopped = False  # cancel_all_quotes() was called: no new quotes until resume()
        self._rt: dict[str, _SymbolRuntime] = {
            s.symbol: _SymbolRuntime(
                guard=SymbolGuard(s.symbol),
                flicker=FlickerGuard(s.cancel_budget_per_min),
                grinder=Grinder(s.symbol),
            )
            for s in config.symbols
        }

    # ------------------------------------------------------------------ events

    def on_event(self, event: Event) -> Decision:
        """Apply one event and return the resulting actions and facts."""
        d = Decision()
        if isinstance(event, BookDelta | TopOfBook | BookSnapshot):
            self.store.apply(event)
            rt = self._rt.get(event.symbol)
            if rt is not None:
                rt.dirty = True
                if rt.failed_closed and self._market_ok(self.store.symbols[event.symbol], event.ts_ns):
                    rt.failed_closed = False
                if event.ts_ns - rt.last_quote_ns >= self._interval_ns(rt, event.ts_ns):
                    self._requote(event.symbol, event.ts_ns, d)
        elif isinstance(event, OrderUpdated):
            self._version += 1
            self._on_order_updated(event, d)
        elif isinstance(event, OrderFilled):
            self._version += 1
            self._on_fill(event, d)
        elif isinstance(event, TimerFired):
            self._on_timer(event.ts_ns, d)
        elif isinstance(event, MarkPriceUpdated | BalanceUpdated):
            self._version += 1
            self.store.apply(event)
            self._check_portfolio(event.ts_ns, d)
        elif isinstance(event, MarketDataStatus):
            self._version += 1
            self.store.apply(event)
            if not event.in_sync:
                self._fail_closed(event.symbol, "out_of_sync", event.ts_ns, d)
        elif isinstance(event, PositionSynced):
            self._version += 1
            self.store.apply(event)
            self._after_position_change(event.symbol, event.ts_ns, d)
        elif isinstance(event, ConfigChanged):
            self._version += 1
            self._on_config(event, d)
        elif isinstance(event, TradePrinted | FundingPaid):
            self.store.apply(event)
        if d.actions:
            self._version += 1
        return d

    def _interval_ns(self, rt: _SymbolRuntime, now_ns: int) -> int:
        return self.config.global_.quote_interval_ms * _MS * rt.flicker.interval_factor(now_ns)

    def _market_ok(self, st: SymbolState, now_ns: int) -> bool:
        if not st.in_sync or not st.book.is_two_sided:
            return False
        return now_ns - st.last_book_ts_ns <= self.config.global_.stale_book_ms * _MS

    # ------------------------------------------------------------------ own orders

    def _on_order_updated(self, event: OrderUpdated, d: Decision) -> None:
        result = self.orders.on_update(event)
        order = result.order
        if result.anomaly:
            d.reports.append(
                OrderAnomaly(
                    symbol=event.symbol,
                    ts_ns=event.ts_ns,
                    client_order_id=event.client_order_id,
                    detail=result.anomaly,
                )
            )
        if order is None:
            return
        if event.status is OrderStatus.REJECTED or (
            event.error_code is not None and result.new_status is not result.old_status
        ):
            d.reports.append(
                OrderRejected(
                    symbol=event.symbol,
                    ts_ns=event.ts_ns,
                    client_order_id=event.client_order_id,
                    error_code=event.error_code,
                    status=order.status,
                )
            )
            if event.error_code == POST_ONLY_REJECTED:
                self._post_only_backoff(order, event.ts_ns)
        self._after_order_change(order, event.ts_ns, d)

    def _post_only_backoff(self, order: LiveOrder, now_ns: int) -> None:
        # -5022: our book was behind the exchange's. Stay one more tick off the touch on that side for a
        # while (at most GTX_BACKOFF_MAX_TICKS), instead of re-sending the same crossing price every requote.
        rt = self._rt.get(order.symbol)
        if rt is None:
            return
        if now_ns >= rt.gtx_backoff_until_ns:
            rt.gtx_backoff_ticks.clear()
        rt.gtx_backoff_ticks[order.side] = min(
            GTX_BACKOFF_MAX_TICKS, rt.gtx_backoff_ticks.get(order.side, 0) + 1
        )
        rt.gtx_backoff_until_ns = now_ns + self.gtx_backoff_ns

    def _after_order_change(self, order: LiveOrder, now_ns: int, d: Decision) -> None:
        symbol = order.symbol
        rt = self._rt.get(symbol)
        st = self.store.symbols.get(symbol)
        if rt is None or st is None:
            return
        if order.status in TERMINAL:
            grinder = rt.grinder
            if (
                order.purpose is OrderPurpose.GRIND_TAKE
                and order.client_order_id == grinder.take_id
                and grinder.phase is GrindPhase.TAKING
                and order.filled_steps <= grinder.take_filled_steps  # else wait for the fills to arrive
            ):
                book = st.book
                reentry = grinder.take_done(
                    config=st.config.grinding,
                    take_side=order.side,
                    best_bid_ticks=book.best_bid_ticks,
                    best_ask_ticks=book.best_ask_ticks,
                    now_ns=now_ns,
                )
                rt.pending_reentry = reentry
                if reentry is not None:
                    rt.dirty = True
            elif order.purpose is OrderPurpose.GRIND_REENTRY and order.client_order_id == grinder.reentry_id:
                grinder.reentry_done(now_ns)
        # orders acknowledged after a cancel was requested go now, whatever the budgets say
        for o in self.orders.needing_cancel(symbol):
            action = self.orders.cancel(o, now_ns)
            if action is not None:
                self._version += 1
                d.actions.append(action)
                rt.flicker.record(now_ns, 1)
        self._sync_pending(st)
        if rt.backlog and now_ns - rt.last_quote_ns >= self._interval_ns(rt, now_ns):
            self._requote(symbol, now_ns, d)

    def _on_fill(self, event: OrderFilled, d: Decision) -> None:
        fill = event.fill
        st = self.store.symbols.get(fill.symbol)
        rt = self._rt.get(fill.symbol)
        if st is None or rt is None or st.has_seen_fill(fill.trade_id):
            return
        before = st.realized_pnl_usdc
        self.store.apply(event)  # position, entry price, fees; updates the equity peak
        realized = st.realized_pnl_usdc - before
        order = self.orders.on_fill(fill)
        if (
            order is not None
            and order.purpose is OrderPurpose.GRIND_TAKE
            and order.client_order_id == rt.grinder.take_id
        ):
            rt.grinder.on_take_fill(fill.price_ticks, fill.qty_steps)
        d.reports.append(
            FillApplied(
                symbol=fill.symbol,
                ts_ns=event.ts_ns,
                client_order_id=fill.client_order_id,
                trade_id=fill.trade_id,
                side=fill.side,
                price_ticks=fill.price_ticks,
                qty_steps=fill.qty_steps,
                maker=fill.maker,
                realized_pnl_usdc=realized,
                position_steps=st.position.qty_steps,
            )
        )
        if order is not None and order.status in TERMINAL:
            self._after_order_change(order, event.ts_ns, d)
        self._after_position_change(fill.symbol, event.ts_ns, d)

    def _after_position_change(self, symbol: str, now_ns: int, d: Decision) -> None:
        st = self.store.symbols.get(symbol)
        rt = self._rt.get(symbol)
        if st is None or rt is None:
            return
        change = rt.guard.on_position(
            st.position.qty_steps, st.net_max_steps(), st.config.halt_seconds, now_ns
        )
        self._report_change(change, now_ns, d)
        self._sync_pending(st)
        if self._check_portfolio(now_ns, d):
            return
        self._maybe_grind(symbol, now_ns, d)
        self._requote(symbol, now_ns, d)

    def _sync_pending(self, st: SymbolState) -> None:
        st.pending_buy_steps, st.pending_sell_steps = self.orders.exposure_steps(st.symbol)

    # ------------------------------------------------------------------ timer, portfolio, config

    def _on_timer(self, now_ns: int, d: Decision) -> None:
        if self._check_portfolio(now_ns, d):
            return
        for symbol, rt in self._rt.items():
            st = self.store.symbols[symbol]
            if not st.config.enabled:
                continue
            change = rt.guard.on_time(st.position.qty_steps, st.net_max_steps(), now_ns)
            self._report_change(change, now_ns, d)
            if not self._market_ok(st, now_ns):
                reason = "out_of_sync" if not st.in_sync else "stale_book"
                self._fail_closed(symbol, reason, now_ns, d)
                continue
            rt.failed_closed = False
            grinder = rt.grinder
            if grinder.reentry_expired(st.config.grinding, now_ns):
                rt.pending_reentry = None
                reentry = self.orders.get(grinder.reentry_id, symbol) if grinder.reentry_id else None
                if reentry is not None and reentry.status not in TERMINAL:
                    action = self.orders.cancel(reentry, now_ns)
                    self._version += 1
                    if action is not None:
                        d.actions.append(action)
                grinder.reentry_done(now_ns)
            self._maybe_grind(symbol, now_ns, d)
            if change is not None or now_ns - rt.last_quote_ns >= self._interval_ns(rt, now_ns):
                # a timer pass over an unchanged book that sends nothing does not count for pacing, so it
                # never delays the next book-driven requote
                pacing = rt.dirty or rt.backlog or change is not None
                last = rt.last_quote_ns
                n = len(d.actions)
                self._requote(symbol, now_ns, d)
                if not pacing and len(d.actions) == n:
                    rt.last_quote_ns = last

    def _check_portfolio(self, now_ns: int, d: Decision) -> bool:
        """Global cap and stop-loss; True when the stop-loss fired now."""
        cap = self.portfolio.check_cap(self.store)
        if cap is not None:
            d.reports.append(
                GlobalCapChanged(
                    ts_ns=now_ns,
                    breached=cap.breached,
                    total_notional_usdc=cap.total_notional_usdc,
                    cap_usdc=cap.cap_usdc,
                )
            )
        stop = self.portfolio.check_stop_loss(self.store)
        if stop is None:
            return False
        d.reports.append(
            StopLossFired(
                ts_ns=now_ns,
                equity_usdc=stop.equity_usdc,
                peak_equity_usdc=stop.peak_equity_usdc,
                drawdown_pct=stop.drawdown_pct,
                stop_loss_pct=stop.stop_loss_pct,
            )
        )
        for symbol, rt in self._rt.items():
            self._cancel_all(symbol, "stop_loss", now_ns, d, force=True)
            d.actions.append(Flatten(symbol=symbol, reason="stop_loss"))
            self._report_change(rt.guard.halt("stop_loss"), now_ns, d)
            rt.pending_reentry = None
        return True

    def _on_config(self, event: ConfigChanged, d: Decision) -> None:
        if not isinstance(event.config, PhoenixConfig):
            return
        self.store.apply(event)
        self.config = self.store.config
        self.rate.set_limit(self.config.global_.orders_per_10s_max)
        for s in self.config.symbols:
            rt = self._rt.get(s.symbol)
            if rt is not None:
                rt.flicker.budget_per_min = s.cancel_budget_per_min
                rt.dirty = True
        if not self._pinned_strategy and self.config.global_.strategy != self._strategy_name:
            self._strategy_name = self.config.global_.strategy
            self.strategy = load_strategy(self._strategy_name)

    def _report_change(self, change: StateChange | None, now_ns: int, d: Decision) -> None:
        if change is not None:
            d.reports.append(
                StateChanged(
                    symbol=change.symbol,
                    ts_ns=now_ns,
                    old=change.old,
                    new=change.new,
                    reason=change.reason,
                    until_ns=change.until_ns,
                )
            )

    # ------------------------------------------------------------------ cancel paths

    def _cancel_all(self, symbol: str, reason: str, now_ns: int, d: Decision, *, force: bool = False) -> None:
        n = self.orders.open_count(symbol)
        if n == 0 and not force:
            return
        d.actions.append(CancelAll(symbol=symbol, reason=reason))
        self.orders.mark_all_canceling(symbol, now_ns)
        self._version += 1
        st = self.store.symbols.get(symbol)
        if st is not None:
            self._sync_pending(st)
        d.reports.append(QuotesCancelled(symbol=symbol, ts_ns=now_ns, reason=reason, orders=n))

    def _fail_closed(self, symbol: str, reason: str, now_ns: int, d: Decision) -> None:
        rt = self._rt.get(symbol)
        if rt is None:
            return
        if not rt.failed_closed:
            rt.failed_closed = True
            self._cancel_all(symbol, reason, now_ns, d)

    def halt(self, symbol: str, reason: str, now_ns: int) -> Decision:
        """Cancel a symbol's orders and latch it halted (e.g. an unexplained reconcile mismatch)."""
        d = Decision()
        self._version += 1
        rt = self._rt.get(symbol)
        if rt is None:
            return d
        self._cancel_all(symbol, f"halt:{reason}", now_ns, d, force=True)
        self._report_change(rt.guard.halt(reason), now_ns, d)
        rt.pending_reentry = None
        return d

    def resume(self, symbol: str | None, now_ns: int) -> Decision:
        """Explicit resume: one symbol's halt, or (``None``) every symbol plus the stop-loss latch."""
        d = Decision()
        self._version += 1
        if symbol is None:
            self.portfolio.resume(self.store)
            self.stopped = False
            targets = list(self._rt)
        else:
            targets = [symbol] if symbol in self._rt else []
        for name in targets:
            st = self.store.symbols[name]
            change = self._rt[name].guard.resume(
                st.position.qty_steps, st.net_max_steps(), st.config.halt_seconds, now_ns
            )
            self._report_change(change, now_ns, d)
            self._requote(name, now_ns, d)
        return d

    def cancel_all_quotes(self, reason: str, now_ns: int) -> Decision:
        """Graceful stop: cancel every order, keep the inventory, quote nothing until ``resume(None)``."""
        d = Decision()
        self._version += 1
        self.stopped = True
        for symbol, rt in self._rt.items():
            self._cancel_all(symbol, reason, now_ns, d)
            rt.pending_reentry = None
        return d

    # ------------------------------------------------------------------ grinding

    def _maybe_grind(self, symbol: str, now_ns: int, d: Decision) -> None:
        rt = self._rt[symbol]
        st = self.store.symbols[symbol]
        if rt.guard.halted or self.stopped or self.portfolio.stop_loss_latched or rt.failed_closed:
            return
        book = st.book
        take = rt.grinder.check(
            config=st.config.grinding,
            filters=st.filters,
            signals=st.signals,
            window_s=st.config.vol_window_s,
            position_steps=st.position.qty_steps,
            net_max_steps=st.net_max_steps(),
            best_bid_ticks=book.best_bid_ticks,
            best_ask_ticks=book.best_ask_ticks,
            now_ns=now_ns,
        )
        if take is None or self.rate.available(symbol, now_ns, essential=True) <= 0:
            return
        action = self.orders.place(
            symbol=symbol,
            side=take.side,
            price_ticks=take.price_ticks,
            qty_steps=take.qty_steps,
            layer=-1,
            now_ns=now_ns,
            purpose=OrderPurpose.GRIND_TAKE,
            time_in_force=TimeInForce.IOC,
            order_type=OrderType.LIMIT,
            reduce_only=True,
        )
        self.rate.consume(symbol, now_ns, 1)
        self._version += 1
        rt.grinder.fired(action.client_order_id, now_ns)
        d.actions.append(action)
        d.reports.append(
            GrindFired(
                symbol=symbol,
                ts_ns=now_ns,
                side=take.side,
                price_ticks=take.price_ticks,
                qty_steps=take.qty_steps,
                price_std_pct=take.price_std_pct,
                position_steps=take.position_steps,
                count_total=rt.grinder.count_total,
            )
        )
        self._sync_pending(st)

    # ------------------------------------------------------------------ requote

    def _limits(self, st: SymbolState, rt: _SymbolRuntime) -> Limits:
        return side_limits(
            st,
            reducing_only=rt.guard.reducing_only,
            halted=rt.guard.halted or self.stopped or self.portfolio.stop_loss_latched,
            global_breached=self.portfolio.global_breached,
            global_allowance_steps=self.portfolio.allowance_steps(self.store, st),
        )

    def _requote(self, symbol: str, now_ns: int, d: Decision) -> None:
        rt = self._rt.get(symbol)
        st = self.store.symbols.get(symbol)
        if rt is None or st is None or not st.config.enabled:
            return
        rt.last_quote_ns = now_ns
        rt.dirty = False
        if rt.failed_closed or not self._market_ok(st, now_ns):
            return
        limits = self._limits(st, rt)
        if limits.halted:
            return
        inputs: tuple[object, ...] | None = None
        if self.skip_unchanged and not rt.backlog and rt.pending_reentry is None and not rt.gtx_backoff_ticks:
            book = st.book
            inputs = (
                book.best_bid_ticks,
                book.best_ask_ticks,
                st.position.qty_steps,
                st.signals.last_final_sec,
                now_ns // 1_000_000_000,
                self._version,
                limits,
                rt.flicker.widen_factor(now_ns),
                id(st.config),
            )
            if inputs == rt.last_inputs:
                return  # the same inputs give the same ladder, which the live orders already satisfy
        rt.last_inputs = None
        quotes = self.strategy.quote(st, now_ns)
        if rt.gtx_backoff_ticks:
            if now_ns < rt.gtx_backoff_until_ns:
                quotes = self._backed_off(quotes, st, rt)
            else:
                rt.gtx_backoff_ticks.clear()
        other_buy, other_sell = self.orders.other_exposure_steps(symbol)
        reentry = rt.pending_reentry
        if reentry is not None:
            quotes = _with_reentry(quotes, reentry)
        result = trim_quotes(quotes, st, limits, other_buy_steps=other_buy, other_sell_steps=other_sell)
        bids, asks = result.quotes.bids, result.quotes.asks
        reentry_quote: Quote | None = None
        if reentry is not None:
            bids, asks, reentry_quote = _split_reentry(bids, asks)
        if result.trims:
            d.reports.append(QuotesTrimmed(symbol=symbol, ts_ns=now_ns, trims=result.trims))
        mid = st.mid()
        assert mid is not None  # _market_ok checked a two-sided book
        tick = st.filters.tick
        cfg = st.config
        vol = st.signals.vol_short_bps
        vol_factor = 1.0
        if vol is not None and vol > cfg.vol_ref_bps:
            vol_factor = min(vol / cfg.vol_ref_bps, cfg.vol_scaling_max)
        base = base_band_ticks(mid, tick, cfg.requote_tolerance_ticks, cfg.requote_tolerance_bps, vol_factor)
        widen = rt.flicker.widen_factor(now_ns)
        mid_ticks = mid / tick
        frac = self.depth_tolerance_frac
        out_f, in_f = self.lattice_outer_frac, self.lattice_inner_frac
        bid_out, bid_in = bands(bids, mid_ticks, base, frac, widen, out_f, in_f)
        ask_out, ask_in = bands(asks, mid_ticks, base, frac, widen, out_f, in_f)
        # the pinned (reducing) quote follows the touch within requote_tolerance_ticks (× the flicker widen)
        pin_band = cfg.requote_tolerance_ticks * widen
        pinned = quotes.pinning_side
        if pinned is Side.BUY and bids and bids[0].layer == 0:
            bid_out[0] = bid_in[0] = pin_band
        elif pinned is Side.SELL and asks and asks[0].layer == 0:
            ask_out[0] = ask_in[0] = pin_band
        else:
            pinned = None
        actions, stats = self.planner.plan(
            symbol=symbol,
            bids=bids,
            asks=asks,
            bid_bands=bid_out,
            ask_bands=ask_out,
            bid_inner_bands=bid_in,
            ask_inner_bands=ask_in,
            tracker=self.orders,
            position_steps=st.position.qty_steps,
            limits=limits,
            flicker=rt.flicker,
            rate=self.rate,
            now_ns=now_ns,
            pinned_side=pinned,
        )
        d.actions.extend(actions)
        if reentry is not None:
            self._place_reentry(st, rt, reentry, reentry_quote, limits, now_ns, d)
            self._sync_pending(st)
        else:
            st.pending_buy_steps, st.pending_sell_steps = stats.buy_exposure_steps, stats.sell_exposure_steps
        rt.backlog = bool(stats.deferred_exposure or stats.deferred_rate or stats.deferred_requotes)
        if actions:
            self._version += 1  # our own orders changed
        elif inputs is not None and not rt.backlog:
            rt.last_inputs = inputs
        rt.last_bid_layers, rt.last_ask_layers = len(bids), len(asks)
        d.reports.append(
            QuotesComputed(
                symbol=symbol,
                ts_ns=now_ns,
                bid_layers=len(bids),
                ask_layers=len(asks),
                reservation_price=quotes.reservation_price,
                half_spread_bps=quotes.half_spread_bps,
                pinning_side=quotes.pinning_side,
                places=stats.places,
                cancels=stats.cancels,
                modifies=stats.modifies,
                risk_cancels=stats.risk_cancels,
                deferred_requotes=stats.deferred_requotes,
                deferred_rate=stats.deferred_rate,
                deferred_exposure=stats.deferred_exposure,
                tolerance_ticks=int(base * widen),
            )
        )

    @staticmethod
    def _backed_off(quotes: QuoteSet, st: SymbolState, rt: _SymbolRuntime) -> QuoteSet:
        best_bid, best_ask = st.book.best_bid_ticks, st.book.best_ask_ticks
        kb = rt.gtx_backoff_ticks.get(Side.BUY, 0)
        ka = rt.gtx_backoff_ticks.get(Side.SELL, 0)
        return refinish(
            quotes,
            st.filters,
            best_bid_ticks=None if best_bid is None else best_bid - kb,
            best_ask_ticks=None if best_ask is None else best_ask + ka,
            mark_price=st.mark_price if st.mark_price > 0.0 else None,
            bump_to_min=False,
        )

    def _place_reentry(
        self,
        st: SymbolState,
        rt: _SymbolRuntime,
        reentry: GrindReentry,
        quote: Quote | None,
        limits: Limits,
        now_ns: int,
        d: Decision,
    ) -> None:
        if quote is None:
            # risk left no room for it at all (or it fell below the minimum): grinding round ends here
            rt.pending_reentry = None
            rt.grinder.reentry_done(now_ns)
            return
        buy_exp, sell_exp = self.orders.exposure_steps(st.symbol)
        pos = st.position.qty_steps
        worst = pos + buy_exp if quote.side is Side.BUY else -pos + sell_exp
        if worst + quote.qty_steps > limits.for_side(quote.side).limit_steps:
            rt.backlog = True  # wait for the ladder cancels that make room to be confirmed
            return
        if self.rate.available(st.symbol, now_ns) <= 0:
            rt.backlog = True
            return
        action = self.orders.place(
            symbol=st.symbol,
            side=quote.side,
            price_ticks=quote.price_ticks,
            qty_steps=quote.qty_steps,
            layer=REENTRY_LAYER,
            now_ns=now_ns,
            purpose=OrderPurpose.GRIND_REENTRY,
        )
        self.rate.consume(st.symbol, now_ns, 1)
        self._version += 1
        rt.grinder.reentry_placed(action.client_order_id)
        rt.pending_reentry = None
        d.actions.append(action)
        d.reports.append(
            GrindReentryPlaced(
                symbol=st.symbol,
                ts_ns=now_ns,
                side=quote.side,
                price_ticks=quote.price_ticks,
                qty_steps=quote.qty_steps,
                wanted_qty_steps=reentry.qty_steps,
            )
        )

    # ------------------------------------------------------------------ introspection and persistence

    def trading_state(self, symbol: str) -> str:
        """The symbol's trading state name (active / reducing_only / halted)."""
        return self._rt[symbol].guard.state.value

    def grind_count_total(self) -> int:
        """Σ grinding fires over all symbols (``mm_grind_count_total``)."""
        return sum(rt.grinder.count_total for rt in self._rt.values())

    def requotes_last_minute(self, symbol: str, now_ns: int) -> int:
        """Cancels + amendments of ``symbol`` in the last 60 s (``cancels/min``)."""
        return self._rt[symbol].flicker.used(now_ns)

    def grinder_phase(self, symbol: str) -> GrindPhase:
        """Where grinding of ``symbol`` stands."""
        return self._rt[symbol].grinder.phase

    def to_snapshot(self) -> dict[str, object]:
        """Plain-data state: store, open orders + id position, guards, stop-loss latch, grinding budgets."""
        return {
            "version": 1,
            "store": self.store.to_snapshot(),
            "orders": self.orders.to_snapshot(),
            "portfolio": self.portfolio.to_snapshot(),
            "stopped": self.stopped,
            "symbols": {
                name: {"guard": rt.guard.to_snapshot(), "grinder": rt.grinder.to_snapshot()}
                for name, rt in self._rt.items()
            },
        }

    def restore(self, snapshot: dict[str, object]) -> None:
        """Restore from ``to_snapshot``. Restored open orders are UNKNOWN until the exchange confirms them."""
        self._version += 1
        store = snapshot.get("store")
        if isinstance(store, dict):
            filters = {name: st.filters for name, st in self.store.symbols.items()}
            self.store = Store.from_snapshot(self.config, filters, store)
        orders = snapshot.get("orders")
        if isinstance(orders, dict):
            self.orders.restore(orders)
        portfolio = snapshot.get("portfolio")
        if isinstance(portfolio, dict):
            self.portfolio.restore(portfolio)
        self.stopped = bool(snapshot.get("stopped", False))
        symbols = snapshot.get("symbols")
        if isinstance(symbols, dict):
            for name, data in symbols.items():
                rt = self._rt.get(name)
                if rt is None or not isinstance(data, dict):
                    continue
                guard = data.get("guard")
                if isinstance(guard, dict):
                    rt.guard.restore(guard)
                grinder = data.get("grinder")
                if isinstance(grinder, dict):
                    rt.grinder.restore(grinder)
        for st in self.store.symbols.values():
            self._sync_pending(st)


def _with_reentry(quotes: QuoteSet, reentry: GrindReentry) -> QuoteSet:
    q = Quote(
        side=reentry.side, price_ticks=reentry.price_ticks, qty_steps=reentry.qty_steps, layer=REENTRY_LAYER
    )
    if reentry.side is Side.BUY:
        bids = tuple(sorted((*quotes.bids, q), key=lambda x: -x.price_ticks))
        return QuoteSet(
            symbol=quotes.symbol,
            ts_ns=quotes.ts_ns,
            bids=bids,
            asks=quotes.asks,
            reservation_price=quotes.reservation_price,
            half_spread_bps=quotes.half_spread_bps,
            pinning_side=quotes.pinning_side,
        )
    asks = tuple(sorted((*quotes.asks, q), key=lambda x: x.price_ticks))
    return QuoteSet(
        symbol=quotes.symbol,
        ts_ns=quotes.ts_ns,
        bids=quotes.bids,
        asks=asks,
        reservation_price=quotes.reservation_price,
        half_spread_bps=quotes.half_spread_bps,
        pinning_side=quotes.pinning_side,
    )


def _split_reentry(
    bids: tuple[Quote, ...], asks: tuple[Quote, ...]
) -> tuple[tuple[Quote, ...], tuple[Quote, ...], Quote | None]:
    found: Quote | None = None
    for q in (*bids, *asks):
        if q.layer == REENTRY_LAYER:
            found = q
    if found is None:
        return bids, asks, None
    return (
        tuple(q for q in bids if q.layer != REENTRY_LAYER),
        tuple(q for q in asks if q.layer != REENTRY_LAYER),
        found,
    )
