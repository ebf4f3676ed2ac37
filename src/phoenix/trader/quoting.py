"""The requote pipeline of the trader (strategy → risk trim → bands → planner) and grinding's orders.

A mixin of ``Trader``: it reads the trader's store, tracker, budgets and per-symbol runtime, declared below.
"""

from __future__ import annotations

from phoenix.config import PhoenixConfig
from phoenix.core.store import Store, SymbolState
from phoenix.core.types import OrderType, Quote, QuoteSet, Side, TimeInForce
from phoenix.execution.orders import OrderPurpose, OrderTracker
from phoenix.execution.planner import Planner, bands, base_band_ticks
from phoenix.execution.ratebudget import OrderRateBudget
from phoenix.risk.grinding import GrindReentry
from phoenix.risk.portfolio import Portfolio
from phoenix.risk.pretrade import Limits, side_limits, trim_quotes
from phoenix.strategy.base import Strategy
from phoenix.strategy.finishing import quote_bounds, refinish
from phoenix.trader.reports import GrindFired, GrindReentryPlaced, QuotesComputed, QuotesTrimmed
from phoenix.trader.runtime import MEMO_MAX, MS, REENTRY_LAYER, Decision, SymbolRuntime


class QuotingMixin:
    """Requoting and grinding orders; mixed into ``Trader``."""

    config: PhoenixConfig
    store: Store
    orders: OrderTracker
    portfolio: Portfolio
    strategy: Strategy
    planner: Planner
    rate: OrderRateBudget
    stopped: bool
    depth_tolerance_frac: float
    lattice_outer_frac: float
    lattice_inner_frac: float
    skip_unchanged: bool
    _version: int
    _rt: dict[str, SymbolRuntime]

    def _interval_ns(self, rt: SymbolRuntime, now_ns: int) -> int:
        return self.config.global_.quote_interval_ms * MS * rt.flicker.interval_factor(now_ns)

    def _market_ok(self, st: SymbolState, now_ns: int) -> bool:
        if not st.in_sync or not st.book.is_two_sided:
            return False
        return now_ns - st.last_book_ts_ns <= self.config.global_.stale_book_ms * MS

    def _sync_pending(self, st: SymbolState) -> None:
        st.pending_buy_steps, st.pending_sell_steps = self.orders.exposure_steps(st.symbol)

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

    def _limits(self, st: SymbolState, rt: SymbolRuntime) -> Limits:
        return side_limits(
            st,
            reducing_only=rt.guard.reducing_only,
            halted=rt.guard.halted or self.stopped or self.portfolio.stop_loss_latched,
            global_breached=self.portfolio.global_breached,
            global_allowance_steps=self.portfolio.allowance_steps(self.store, st),
        )

    def _requote_key(
        self, st: SymbolState, rt: SymbolRuntime, limits: Limits, now_ns: int
    ) -> tuple[tuple[int, int, int, int], tuple[object, ...]]:
        """(touch, context): everything a requote's outcome depends on, split into the part that moves on
        most book updates and the part that rarely does.

        Touch: best bid/ask and the finishing bounds (post-only + mark-price band). Context: position,
        the strategy's own inputs (``inputs_key``; unknown strategies: signals second, wall second, mark,
        funding), the own-order version (every order/fill event bumps it), limits, flicker widen, vol
        factor of the bands, config identity. Any budget that could defer something is irrelevant: only
        plans that sent nothing and deferred nothing are remembered.
        """
        book = st.book
        bb, ba = book.best_bid_ticks, book.best_ask_ticks
        assert bb is not None and ba is not None  # _market_ok checked a two-sided book
        mark = st.mark_price
        bid_cap, ask_floor = quote_bounds(st.filters, bb, ba, mark if mark > 0.0 else None)
        key_fn = getattr(self.strategy, "inputs_key", None)
        if key_fn is not None:
            strategy_key: object = key_fn(st)
        else:
            strategy_key = (st.signals.last_final_sec, now_ns // 1_000_000_000, mark, st.funding_rate)
        cfg = st.config
        vol = st.signals.vol_short_bps
        context = (
            st.position.qty_steps,
            strategy_key,
            self._version,
            limits,
            rt.flicker.widen_factor(now_ns),
            vol if vol is not None and vol > cfg.vol_ref_bps else None,
            id(cfg),
        )
        return (bb, ba, bid_cap, ask_floor), context

    def _requote(self, symbol: str, now_ns: int, d: Decision) -> None:
        rt = self._rt.get(symbol)
        st = self.store.symbols.get(symbol)
        if rt is None or st is None or not st.config.enabled:
            return
        rt.last_quote_ns = rt.evaluated_ns = now_ns
        rt.quoted_touch = (st.book.best_bid_ticks or 0, st.book.best_ask_ticks or 0)
        rt.dirty = False
        if rt.failed_closed or not self._market_ok(st, now_ns):
            return
        limits = self._limits(st, rt)
        if limits.halted:
            return
        touch: tuple[int, int, int, int] | None = None
        if self.skip_unchanged and not rt.backlog and rt.pending_reentry is None and not rt.gtx_backoff_ticks:
            touch, context = self._requote_key(st, rt, limits, now_ns)
            if context != rt.memo_context:
                rt.memo.clear()
                rt.memo_context = context
            else:
                hit = rt.memo.get(touch)
                if hit is not None:
                    # the same inputs gave a plan with nothing to send: the live orders already satisfy it;
                    # replay what that plan did to our state (the ladder layer each kept order serves)
                    layers, rt.last_bid_layers, rt.last_ask_layers = hit
                    for order, layer in zip(rt.memo_orders, layers, strict=True):
                        order.layer = layer
                    return
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
        # the pinned (reducing) quote follows the touch when it falls behind it by more than
        # requote_tolerance_ticks (× the flicker widen); ahead of the touch it is the best price itself
        # (a feed without our own orders shows the touch moving away from it), so it stays there within
        # the ordinary base band instead of chasing every tick
        pin_band = cfg.requote_tolerance_ticks * widen
        pin_inner = base * widen if base * widen > pin_band else pin_band
        pinned = quotes.pinning_side
        if pinned is Side.BUY and bids and bids[0].layer == 0:
            bid_out[0] = pin_band
            bid_in[0] = pin_inner
        elif pinned is Side.SELL and asks and asks[0].layer == 0:
            ask_out[0] = pin_band
            ask_in[0] = pin_inner
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
        rt.last_bid_layers, rt.last_ask_layers = len(bids), len(asks)
        if actions:
            self._version += 1  # our own orders changed
        elif touch is not None and not rt.backlog:
            memo = rt.memo
            if len(memo) >= MEMO_MAX:
                memo.clear()
            if not memo:  # the open orders are the same objects for as long as the context holds
                rt.memo_orders = tuple(self.orders.iter_open(symbol))
            # tuples of ints: the garbage collector stops tracking them, so a full memo costs no GC time
            memo[touch] = (tuple([o.layer for o in rt.memo_orders]), rt.last_bid_layers, rt.last_ask_layers)
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
    def _backed_off(quotes: QuoteSet, st: SymbolState, rt: SymbolRuntime) -> QuoteSet:
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
        rt: SymbolRuntime,
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
