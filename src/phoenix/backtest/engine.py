"""Event-driven backtest loop on a simulated clock, driving the live ``Trader`` against ``SymbolVenue``s.

Time flows only from data: feed events at their exchange time, and the loop's own scheduled items
(deliveries after latency, order arrivals, timers, samples) on one heap ordered by (time, sequence).

- A feed event updates the venue at its exchange time t (may fill our resting orders), and reaches the
  Trader at t + feed latency as a core event.
- The Trader's actions reach the venue at send time + entry latency (FIFO per symbol, like one connection).
- Venue reports (acks, rejections, fills, funding) reach the Trader at venue time + response latency.
- Each of the three paths is FIFO per symbol (one connection each): a random latency draw can delay a
  message but never reorder it behind a later one, as on a WebSocket.
- ``TimerFired`` every ``timer_interval_ms`` lets the Trader re-evaluate without market events.
Everything random is drawn from one seeded RNG, so a run is a pure function of (config, data, settings).
"""

from __future__ import annotations

import heapq
import itertools
import math
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phoenix.backtest.account import Account, FeeRates
from phoenix.backtest.intensity import ImpactModel, IntensityFillModel
from phoenix.backtest.latency import LatencySet
from phoenix.backtest.queue import make_queue_model
from phoenix.backtest.venue import FillModel, SymbolVenue, VenueReport, _Ids, liquidation_check
from phoenix.config import PhoenixConfig
from phoenix.core.types import (
    Action,
    BookDelta,
    BookSnapshot,
    CancelAll,
    CancelOrder,
    Event,
    Flatten,
    FundingPaid,
    MarketDataStatus,
    MarkPriceUpdated,
    ModifyOrder,
    OrderFilled,
    OrderUpdated,
    PlaceOrder,
    SymbolFilters,
    TimerFired,
    TradePrinted,
)
from phoenix.exchange.sim.feeds import FeedDelta, FeedEvent, FeedMarkPrice, FeedSnapshot, FeedTrade

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000
DRAIN_NS = 5 * NS_PER_S  # after the data ends, in-flight messages are delivered for at most this long

_DELIVER = 0
_ARRIVE = 1
_TIMER = 2
_SAMPLE = 3


@dataclass(slots=True)
class BacktestSettings:
    """Everything about a backtest run that is not the trading config.

    Args:
        fill_model: ``queue`` (L2), ``trade_through``, ``intensity`` (mid-only data) or ``sim`` (SimExchange).
        fill_models: Per-symbol fill model overrides (e.g. intensity for a mid-only symbol next to L2 ones).
        queue_model: Queue model name for ``queue`` (see ``phoenix.backtest.queue``).
        latency: Feed / entry / response latencies.
        intensity: λ(δ) = A·e^(−kδ) parameters for ``intensity``.
        impact: Taker slippage model of ``intensity`` symbols (default ``ImpactModel()``); other symbols'
            takers walk the displayed book.
        fees: Per-symbol fee rates; default from ``global.sim`` maker/taker bps.
        funding_rate: Fixed funding rate per 8 h (None = recorded rates; 0 when the data has none).
        wallet_usdc: Starting wallet (None = ``global.sim.balance_usdc``).
        seed: RNG seed.
        sample_interval_ms: Equity/position sampling period for the report.
        timer_interval_ms: TimerFired period (None = ``global.quote_interval_ms``).
        strategy: Strategy name override (None = ``global.strategy``).
        progress: Show a rich progress bar.
        ledger_path: SQLite results ledger (live schema); None = no ledger.
        max_events: Stop after this many feed events (None = all).
        book_heartbeat: Mid-only data: at every timer, tell the Trader the book is alive (an empty
            ``BookDelta``) while the data has no gap (last event < ``max_gap_s`` ago). Mid files only carry
            changes of the mid, so without this every quiet second would look like a stale book.
        max_gap_s: Silence in a symbol's data longer than this is a gap (no heartbeat, no intensity fills).
    """

    fill_model: FillModel = FillModel.QUEUE
    fill_models: Mapping[str, FillModel] | None = None
    queue_model: str = "prob_log"
    latency: LatencySet = field(default_factory=lambda: LatencySet.constant_ms(5.0, 25.0, 25.0))
    intensity: IntensityFillModel | None = None
    impact: ImpactModel | None = None
    fees: Mapping[str, FeeRates] | None = None
    funding_rate: float | None = None
    wallet_usdc: float | None = None
    seed: int = 1
    sample_interval_ms: int = 1000
    timer_interval_ms: int | None = None
    strategy: str | None = None
    progress: bool = False
    ledger_path: Path | None = None
    max_events: int | None = None
    book_heartbeat: bool | None = None
    max_gap_s: float = 2.0


@dataclass(slots=True)
class FillRecord:
    """One fill as the report sees it."""

    ts_ns: int
    symbol: str
    side: int  # +1 buy, -1 sell
    price: float
    qty: float
    maker: bool
    fee_usdc: float
    mid: float


@dataclass(slots=True)
class Samples:
    """Time series sampled every ``sample_interval_ms`` (first symbol's market columns)."""

    ts_ns: list[int] = field(default_factory=list)
    equity_usdc: list[float] = field(default_factory=list)
    wallet_usdc: list[float] = field(default_factory=list)
    position_qty: list[float] = field(default_factory=list)
    mid: list[float] = field(default_factory=list)
    own_bid: list[float] = field(default_factory=list)
    own_ask: list[float] = field(default_factory=list)
    mkt_bid: list[float] = field(default_factory=list)
    mkt_ask: list[float] = field(default_factory=list)
    fees_usdc: list[float] = field(default_factory=list)
    funding_usdc: list[float] = field(default_factory=list)


@dataclass(slots=True)
class BacktestResult:
    """Outcome of one run: summary figures plus the series the report plots."""

    summary: dict[str, float | int]
    samples: Samples
    fills: list[FillRecord]
    symbols: tuple[str, ...]
    start_ns: int
    end_ns: int
    risk_event_kinds: dict[str, int]
    extra: dict[str, Any] = field(default_factory=dict)


def _feed_ns(ev: FeedEvent) -> int:
    return ev.ts_ms * NS_PER_MS


def merge_feeds(feeds: Iterable[Iterable[FeedEvent]]) -> Iterator[FeedEvent]:
    """Merge several time-ordered feeds by exchange time (stable: ties keep feed order)."""
    sources = list(feeds)
    if len(sources) == 1:
        return iter(sources[0])
    return heapq.merge(*sources, key=lambda e: e.ts_ms)


class BacktestEngine:
    """Runs one backtest. Build it, call ``run()`` once.

    Args:
        config: The trading config (same file as live).
        filters: Exchange filters of every configured symbol.
        feeds: Time-ordered feed event sources (merged by time); their symbols must be configured.
        settings: Fill, latency, fee and run settings.
        trader_factory: Builds the Trader (default ``phoenix.trader.Trader``); for tests of the loop itself.
    """

    def __init__(
        self,
        config: PhoenixConfig,
        filters: Mapping[str, SymbolFilters],
        feeds: Iterable[Iterable[FeedEvent]],
        settings: BacktestSettings | None = None,
        *,
        trader_factory: Callable[..., Any] | None = None,
    ) -> None:
        self.config = config
        self.settings = settings or BacktestSettings()
        s = self.settings
        self.symbols = tuple(sc.symbol for sc in config.symbols)
        self.filters = {sym: filters[sym] for sym in self.symbols}
        self.rng = random.Random(s.seed)
        self.wallet0 = s.wallet_usdc if s.wallet_usdc is not None else config.global_.sim.balance_usdc
        sim = config.global_.sim
        fees = s.fees or {
            sym: FeeRates.from_bps(sim.maker_fee_bps, sim.taker_fee_bps) for sym in self.symbols
        }
        self.account = Account.create(
            self.wallet0,
            self.filters,
            {sym: fees.get(sym, FeeRates()) for sym in self.symbols},
            leverage=config.global_.leverage,
        )
        models = {sym: (s.fill_models or {}).get(sym, s.fill_model) for sym in self.symbols}
        self.fill_models = models
        ids = _Ids()
        self.venues: dict[str, SymbolVenue] = {}
        sim_symbols = [sym for sym in self.symbols if models[sym] is FillModel.SIM]
        if sim_symbols:
            self._build_sim_venues(config, fees, ids, sim_symbols)
        for i, sym in enumerate(self.symbols):
            if sym in self.venues:
                continue
            # takers walk the displayed book on L2 data; mid-only data has no sizes: impact model
            impact = (s.impact or ImpactModel()) if models[sym] is FillModel.INTENSITY else None
            self.venues[sym] = SymbolVenue(
                self.filters[sym],
                self.account,
                fill_model=models[sym],
                queue_model=make_queue_model(s.queue_model),
                intensity=s.intensity,
                impact=impact,
                rng=random.Random(s.seed * 1000 + i),
                funding_rate=s.funding_rate,
                ids=ids,
                max_gap_s=s.max_gap_s,
            )
        for v in self.venues.values():
            v._siblings = self.venues
        self.feed = merge_feeds(feeds)
        if trader_factory is None:
            from phoenix.trader.trader import Trader

            trader_factory = Trader
        self.start_ns = 0
        self._trader_factory = trader_factory
        self.trader: Any = None
        self._heap: list[tuple[int, int, int, Any]] = []
        self._seq = itertools.count()
        self._last_arrival_ns: dict[str, int] = {}
        self._last_feed_arrival_ns: dict[str, int] = {}
        self._last_resp_ns: dict[str, int] = {}
        self._in_sync: set[str] = set()
        self._flat_seq = itertools.count(1)
        self._last_feed_ns: dict[str, int] = {}
        if s.book_heartbeat is None:
            self.heartbeat_symbols = {sym for sym, m in models.items() if m is FillModel.INTENSITY}
        else:
            self.heartbeat_symbols = set(self.symbols) if s.book_heartbeat else set()
        self.heartbeat = bool(self.heartbeat_symbols)
        self.samples = Samples()
        self.fills: list[FillRecord] = []
        self.risk_kinds: dict[str, int] = {}
        self.events_processed = 0
        self.actions_sent = 0
        self.cancels_sent = 0
        self.max_pos_ratio = 0.0
        self.ledger: Any = None
        self.now_ns = 0

    def _build_sim_venues(
        self, config: PhoenixConfig, fees: Mapping[str, FeeRates], ids: _Ids, symbols: list[str]
    ) -> None:
        """Venues backed by one shared ``SimExchange`` (fill model ``sim``)."""
        from phoenix.backtest.sim_venue import SimEngineVenue
        from phoenix.exchange.sim.engine import SimExchange
        from phoenix.exchange.sim.sim_types import FeeSchedule

        per_symbol = tuple((sym, fees[sym].maker, fees[sym].taker) for sym in self.symbols if sym in fees)
        queue = (
            self.settings.queue_model
            if self.settings.queue_model in ("conservative", "proportional")
            else "conservative"
        )
        engine = SimExchange(
            {sym: self.filters[sym] for sym in symbols},
            fees=FeeSchedule(per_symbol=per_symbol),
            leverage=config.global_.leverage,
            emit_public=False,
            queue_model=queue,
        )
        acct = engine.add_account("backtest", self.wallet0)
        for sym in symbols:
            self.venues[sym] = SimEngineVenue(
                self.filters[sym],
                self.account,
                engine=engine,
                engine_account=acct,
                funding_rate=self.settings.funding_rate,
                ids=ids,
            )

    # ------------------------------------------------------------------ scheduling

    def _push(self, t_ns: int, kind: int, payload: Any) -> None:
        heapq.heappush(self._heap, (t_ns, next(self._seq), kind, payload))

    def _response_ns(self, symbol: str, now_ns: int) -> int:
        """When a report the venue makes at ``now_ns`` reaches us: the user stream is one FIFO per symbol."""
        t = now_ns + self.settings.latency.response.sample_ns(self.rng)
        last = self._last_resp_ns.get(symbol, 0)
        if t < last:
            t = last
        self._last_resp_ns[symbol] = t
        return t

    def _deliver_reports(self, reports: list[VenueReport], report_ns: int) -> None:
        for r in reports:
            self._push(report_ns, _DELIVER, r)

    # ------------------------------------------------------------------ feed → venue and trader

    def _on_feed(self, ev: FeedEvent) -> None:
        t = ev.ts_ms * NS_PER_MS
        venue = self.venues.get(ev.symbol)
        if venue is None:
            return
        self._last_feed_ns[ev.symbol] = t
        lat = self.settings.latency
        resp = self._response_ns(ev.symbol, t)
        # one market-data connection per symbol: events arrive in exchange order whatever the latency draw
        arrive = t + lat.feed.sample_ns(self.rng)
        last = self._last_feed_arrival_ns.get(ev.symbol, 0)
        if arrive < last:
            arrive = last
        self._last_feed_arrival_ns[ev.symbol] = arrive
        core: Event
        if isinstance(ev, FeedDelta):
            reports = venue.on_delta(ev.bids, ev.asks, t, resp)
            core = BookDelta(symbol=ev.symbol, ts_ns=arrive, bids=ev.bids, asks=ev.asks)
        elif isinstance(ev, FeedTrade):
            reports = venue.on_trade(ev.price_ticks, ev.qty, ev.aggressor, t, resp)
            core = TradePrinted(
                symbol=ev.symbol, ts_ns=arrive, price_ticks=ev.price_ticks, qty=ev.qty, aggressor=ev.aggressor
            )
        elif isinstance(ev, FeedSnapshot):
            reports = venue.on_snapshot(ev.bids, ev.asks, t, resp)
            core = BookSnapshot(symbol=ev.symbol, ts_ns=arrive, bids=ev.bids, asks=ev.asks)
            if ev.symbol not in self._in_sync:
                self._in_sync.add(ev.symbol)
                self._push(arrive, _DELIVER, MarketDataStatus(symbol=ev.symbol, ts_ns=arrive, in_sync=True))
        elif isinstance(ev, FeedMarkPrice):
            reports = venue.on_mark(ev.mark_price, ev.funding_rate, ev.next_funding_ms, t, resp)
            rate = venue.funding_rate
            core = MarkPriceUpdated(
                symbol=ev.symbol,
                ts_ns=arrive,
                mark_price=ev.mark_price,
                funding_rate=rate,
                next_funding_ms=venue.next_funding_ns // NS_PER_MS,
            )
        else:  # pragma: no cover - exhaustive over FeedEvent
            return
        if reports:
            self._deliver_reports(reports, resp)
        self._push(arrive, _DELIVER, core)

    def _deliver(self, ev: Any, now_ns: int) -> None:
        ledger = self.ledger
        if isinstance(ev, OrderFilled):
            self._record_fill(ev)
            if ledger is not None:
                ledger.record_fill(ev.fill, self.filters[ev.fill.symbol], source="backtest")
        elif isinstance(ev, OrderUpdated):
            if ledger is not None:
                ledger.record_order_update(ev)
        elif isinstance(ev, FundingPaid) and ledger is not None:
            ledger.record_funding(ev.symbol, ev.ts_ns, ev.amount_usdc)
        decision = self.trader.on_event(ev)
        self._handle_decision(decision, now_ns)

    def _handle_decision(self, decision: Any, now_ns: int) -> None:
        for report in decision.reports:
            kind = _risk_kind(report)
            if kind is not None:
                self.risk_kinds[kind] = self.risk_kinds.get(kind, 0) + 1
                if self.ledger is not None:
                    self.ledger.record_risk_event(
                        now_ns, getattr(report, "symbol", "") or "", kind, _detail(report)
                    )
        if not decision.actions:
            return
        entry = self.settings.latency.entry
        for action in decision.actions:
            self.actions_sent += 1
            if isinstance(action, CancelOrder):
                self.cancels_sent += 1
            elif isinstance(action, CancelAll):
                self.cancels_sent += (
                    len(self.venues[action.symbol].orders) if action.symbol in self.venues else 0
                )
            if self.ledger is not None:
                self.ledger.record_action(action, now_ns)
            sym = action.symbol
            t = now_ns + entry.sample_ns(self.rng)
            last = self._last_arrival_ns.get(sym, 0)
            if t < last:
                t = last  # one connection per symbol: requests arrive in the order they were sent
            self._last_arrival_ns[sym] = t
            self._push(t, _ARRIVE, action)

    def _idle(self, now_ns: int, idle_ns: int) -> bool:
        """True when no symbol had data for ``idle_ns`` and nothing is scheduled but timers/samples."""
        last = max(self._last_feed_ns.values(), default=0)
        if now_ns - last <= idle_ns:
            return False
        return all(kind >= _TIMER for _, _, kind, _ in self._heap)

    def _heartbeat(self, now_ns: int) -> None:
        gap_ns = int(self.settings.max_gap_s * NS_PER_S)
        for sym, last in self._last_feed_ns.items():
            if now_ns - last <= gap_ns and sym in self._in_sync and sym in self.heartbeat_symbols:
                beat = BookDelta(symbol=sym, ts_ns=now_ns, bids=(), asks=())
                self._handle_decision(self.trader.on_event(beat), now_ns)

    def _arrive(self, action: Action, now_ns: int) -> None:
        venue = self.venues.get(action.symbol)
        if venue is None:
            return
        resp = self._response_ns(action.symbol, now_ns)
        if isinstance(action, PlaceOrder):
            reports = venue.place(
                action.client_order_id,
                action.side,
                action.price_ticks,
                action.qty_steps,
                action.order_type,
                action.time_in_force,
                action.reduce_only,
                now_ns,
                resp,
            )
        elif isinstance(action, CancelOrder):
            reports = venue.cancel(action.client_order_id, now_ns, resp)
        elif isinstance(action, ModifyOrder):
            reports = venue.modify(action.client_order_id, action.price_ticks, action.qty_steps, now_ns, resp)
        elif isinstance(action, CancelAll):
            reports = venue.cancel_all(now_ns, resp)
        elif isinstance(action, Flatten):
            coid = f"phoenix-{action.symbol}-flat-{next(self._flat_seq)}"
            reports = venue.flatten(coid, now_ns, resp)
        else:  # pragma: no cover
            return
        if reports:
            self._deliver_reports(reports, resp)

    # ------------------------------------------------------------------ bookkeeping

    def _record_fill(self, ev: OrderFilled) -> None:
        f = ev.fill
        filters = self.filters[f.symbol]
        venue = self.venues[f.symbol]
        self.fills.append(
            FillRecord(
                ts_ns=f.ts_ns,
                symbol=f.symbol,
                side=f.side.sign,
                price=filters.ticks_to_price(f.price_ticks),
                qty=filters.steps_to_qty(f.qty_steps),
                maker=f.maker,
                fee_usdc=f.fee_usdc,
                mid=venue.fill_mids.pop(f.trade_id, venue.last_mid),
            )
        )
        self._update_pos_ratio(f.symbol)

    def _update_pos_ratio(self, symbol: str) -> None:
        venue = self.venues[symbol]
        pos = abs(self.account.symbols[symbol].qty_steps) * self.filters[symbol].step
        if pos == 0:
            return
        net_max = self.config.symbol(symbol).net_max_at(venue.last_mid or 0.0)
        if net_max > 0:
            ratio = pos / net_max
            if ratio > self.max_pos_ratio:
                self.max_pos_ratio = ratio

    def _marks(self) -> dict[str, float]:
        return {s: (v.last_mid or v.mark_price) for s, v in self.venues.items()}

    def _sample(self, now_ns: int) -> None:
        marks = self._marks()
        sm = self.samples
        sym = self.symbols[0]
        v = self.venues[sym]
        sm.ts_ns.append(now_ns)
        sm.equity_usdc.append(self.account.equity_usdc(marks))
        sm.wallet_usdc.append(self.account.wallet_usdc)
        sm.position_qty.append(self.account.symbols[sym].qty_steps * self.filters[sym].step)
        sm.mid.append(v.last_mid if v.last_mid > 0 else math.nan)
        tick = self.filters[sym].tick
        sm.own_bid.append(max(v._bids_at) * tick if v._bids_at else math.nan)
        sm.own_ask.append(min(v._asks_at) * tick if v._asks_at else math.nan)
        bb, ba = v.book.best_bid_ticks, v.book.best_ask_ticks
        sm.mkt_bid.append(bb * tick if bb is not None else math.nan)
        sm.mkt_ask.append(ba * tick if ba is not None else math.nan)
        sm.fees_usdc.append(self.account.fees_usdc)
        sm.funding_usdc.append(self.account.funding_usdc)
        if liquidation_check(self.account, self.venues):
            self.risk_kinds["liquidation"] = self.risk_kinds.get("liquidation", 0) + 1
            for s, venue in self.venues.items():
                venue.stats.liquidations += 1
                reports = venue.cancel_all(now_ns, now_ns)
                reports += venue.flatten(f"phoenix-{s}-liq-{next(self._flat_seq)}", now_ns, now_ns)
                self._deliver_reports(reports, now_ns)
                if self.ledger is not None:
                    self.ledger.record_risk_event(now_ns, s, "liquidation", {"equity": sm.equity_usdc[-1]})

    # ------------------------------------------------------------------ main loop

    def run(self) -> BacktestResult:
        """Replay every feed event; returns the summary and series."""
        wall0 = time.perf_counter()
        feed = self.feed
        first = next(feed, None)
        if first is None:
            raise ValueError("the data files produced no events for the configured symbols")
        self.start_ns = _feed_ns(first)
        s = self.settings
        self.trader = self._trader_factory(
            self.config,
            self.filters,
            wallet_usdc=self.wallet0,
            strategy=s.strategy,
            id_seed_ms=self.start_ns // NS_PER_MS,
        )
        if s.ledger_path is not None:
            from phoenix.persistence.ledger import Ledger

            self.ledger = Ledger(
                s.ledger_path,
                venue="backtest",
                symbols=self.symbols,
                started_ns=self.start_ns,
                pid=os.getpid(),
            )
            self.ledger.record_balance(self.start_ns, self.wallet0, "backtest_start")
        timer_ns = (s.timer_interval_ms or self.config.global_.quote_interval_ms) * NS_PER_MS
        sample_ns = max(1, s.sample_interval_ms) * NS_PER_MS
        self._push(self.start_ns + timer_ns, _TIMER, None)
        self._push(self.start_ns, _SAMPLE, None)
        # after this long without data the Trader has failed closed (stale book) and timers change nothing
        idle_ns = (self.config.global_.stale_book_ms + 2 * timer_ns // NS_PER_MS) * NS_PER_MS + int(
            s.max_gap_s * NS_PER_S
        )
        heap = self._heap
        pop = heapq.heappop
        max_events = s.max_events
        progress = _Progress(s.progress, self.start_ns)
        nxt: FeedEvent | None = first
        nxt_ns = self.start_ns
        end_ns = self.start_ns
        try:
            while True:
                if nxt is not None and (not heap or nxt_ns <= heap[0][0]):
                    self.now_ns = nxt_ns
                    self._on_feed(nxt)
                    self.events_processed += 1
                    end_ns = nxt_ns
                    if max_events is not None and self.events_processed >= max_events:
                        nxt = None
                    else:
                        nxt = next(feed, None)
                        if nxt is not None:
                            nxt_ns = nxt.ts_ms * NS_PER_MS
                    if (self.events_processed & 0xFFF) == 0:
                        progress.update(self.events_processed, nxt_ns)
                    continue
                if not heap:
                    break
                t, _, kind, payload = pop(heap)
                if nxt is None and t > end_ns:
                    # the data ended: messages already in flight are still delivered (they happened),
                    # but no timers or samples run past the end of the data
                    if kind >= _TIMER:
                        continue
                    if t > end_ns + DRAIN_NS:
                        break
                self.now_ns = t
                if kind == _DELIVER:
                    self._deliver(payload, t)
                elif kind == _ARRIVE:
                    self._arrive(payload, t)
                elif kind == _TIMER:
                    if self.heartbeat:
                        self._heartbeat(t)
                    self._handle_decision(self.trader.on_event(TimerFired(ts_ns=t)), t)
                    nt = t + timer_ns
                    if nxt is not None and nxt_ns > nt and self._idle(t, idle_ns):
                        nt += (
                            (nxt_ns - nt) // timer_ns * timer_ns
                        )  # data gap: nothing can happen until it ends
                    self._push(nt, _TIMER, None)
                else:
                    self._sample(t)
                    self._push(t + sample_ns, _SAMPLE, None)
        finally:
            progress.close()
        self._sample(max(end_ns, self.now_ns))
        wall = time.perf_counter() - wall0
        summary = self._summary(end_ns, wall)
        if self.ledger is not None:
            self.ledger.record_balance(end_ns, self.account.wallet_usdc, "backtest_end")
            self.ledger.close()
        return BacktestResult(
            summary=summary,
            samples=self.samples,
            fills=self.fills,
            symbols=self.symbols,
            start_ns=self.start_ns,
            end_ns=end_ns,
            risk_event_kinds=dict(self.risk_kinds),
            extra=self._extra(),
        )

    def _extra(self) -> dict[str, Any]:
        stats = {sym: v.stats for sym, v in self.venues.items()}
        return {
            "orders_placed": sum(x.orders_placed for x in stats.values()),
            "orders_rejected": sum(x.orders_rejected for x in stats.values()),
            "post_only_rejects": sum(x.post_only_rejects for x in stats.values()),
            "maker_fills": sum(x.maker_fills for x in stats.values()),
            "taker_fills": sum(x.taker_fills for x in stats.values()),
            "realized_usdc": self.account.realized_usdc,
            "wallet_start_usdc": self.wallet0,
            "wallet_end_usdc": self.account.wallet_usdc,
            "actions_sent": self.actions_sent,
        }

    def _summary(self, end_ns: int, wall_s: float) -> dict[str, float | int]:
        from phoenix.backtest.metrics import summarise

        return summarise(self, end_ns, wall_s)


class _Progress:
    """A rich progress display of simulated time and events (no-op unless enabled)."""

    def __init__(self, enabled: bool, start_ns: int) -> None:
        self._progress: Any = None
        self._task: Any = None
        self._start_ns = start_ns
        if not enabled:
            return
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), transient=True
        )
        self._progress.start()
        self._task = self._progress.add_task("backtest", total=None)

    def update(self, events: int, now_ns: int) -> None:
        """Refresh the display."""
        if self._progress is None:
            return
        sim_s = (now_ns - self._start_ns) / NS_PER_S
        self._progress.update(
            self._task, description=f"backtest: {events:,} events, {sim_s / 3600:.2f} h simulated"
        )

    def close(self) -> None:
        """Remove the display."""
        if self._progress is not None:
            self._progress.stop()


def _risk_kind(report: object) -> str | None:
    """The risk-event kind of a Trader report, else None.

    State changes, fail-closed cancels, grinding, stop-loss and the global cap are risk events; ``"trim"``
    (pre-trade trims) and ``"anomaly"``/``"rejected"`` (order bookkeeping) are counted but are not.
    """
    from phoenix.trader import reports as r

    if isinstance(report, r.QuotesComputed | r.FillApplied | r.GrindReentryPlaced):
        return None
    if isinstance(report, r.StateChanged):
        return f"state:{report.new}"
    if isinstance(report, r.QuotesCancelled):
        return f"cancel:{report.reason.split(':')[0]}"
    if isinstance(report, r.GrindFired):
        return "grind"
    if isinstance(report, r.StopLossFired):
        return "stop_loss"
    if isinstance(report, r.GlobalCapChanged):
        return "global_cap" if report.breached else "global_cap_cleared"
    if isinstance(report, r.QuotesTrimmed):
        return "trim"
    if isinstance(report, r.OrderAnomaly):
        return "anomaly"
    if isinstance(report, r.OrderRejected):
        return "rejected"
    return None


NOT_RISK_EVENTS = frozenset({"trim", "anomaly", "rejected", "global_cap_cleared"})


def _detail(report: object) -> dict[str, Any]:
    slots = getattr(report, "__slots__", None) or getattr(report, "__dataclass_fields__", {})
    out: dict[str, Any] = {}
    for name in slots:
        try:
            out[str(name)] = getattr(report, str(name))
        except AttributeError:
            continue
    return out
