"""The live runner: one asyncio process per account driving the pure ``Trader``.

Wiring: market stream → per-symbol worker (``Trader.on_event``) → ``ActionExecutor`` → order gateway;
user stream → the same worker (fills are THE position truth). Around it: a timer (requote pacing,
stale-data fail-closed), the dead-man switch refresher, REST reconciliation, snapshots, the metrics/health
server, config hot reload and the status view, all supervised. Stop (SIGINT/SIGTERM, ``--duration``)
cancels every quote, keeps the inventory and exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import orjson

import phoenix
from phoenix.config import Credentials, PhoenixConfig, Venue
from phoenix.config_watch import ConfigWatcher
from phoenix.core.types import (
    Action,
    BalanceUpdated,
    BookDelta,
    BookSnapshot,
    CancelAll,
    CancelOrder,
    ConfigChanged,
    Event,
    FundingPaid,
    MarketDataStatus,
    MarkPriceUpdated,
    OrderFilled,
    OrderStatus,
    OrderUpdated,
    PositionSynced,
    Side,
    SymbolFilters,
    TimerFired,
    TopOfBook,
    TradePrinted,
)
from phoenix.errors import ExchangeError, PhoenixError
from phoenix.exchange.binance.gateway import OrderGateway
from phoenix.exchange.binance.market_stream import MarketDataStream
from phoenix.exchange.binance.rest import BinanceRestClient
from phoenix.exchange.binance.signing import Signer
from phoenix.exchange.binance.urls import Endpoints
from phoenix.exchange.binance.user_stream import UserDataStream
from phoenix.execution.orders import LiveOrder
from phoenix.log import get_logger
from phoenix.metrics import STATE_CODES, Metrics, MetricsServer, RollingCount
from phoenix.persistence.ledger import LEDGER_FILE_NAME, Ledger, LedgerReader
from phoenix.persistence.lock import InstanceLock, account_lock
from phoenix.runner.account_rest import fetch_positions, fetch_user_trades, fetch_wallet_usdc, fill_from_trade
from phoenix.runner.executor import ActionExecutor
from phoenix.runner.flatten import fetch_market_max_steps
from phoenix.runner.reconcile import Mismatch, Reconciler, TraderView
from phoenix.runner.stats import RunStats
from phoenix.runner.supervisor import Supervisor
from phoenix.runner.venue import (
    SIM_API_KEY,
    configured_endpoints,
    make_signer,
    remove_sim_endpoint,
    uses_embedded_sim,
    write_sim_endpoint,
)
from phoenix.trader.reports import (
    GrindFired,
    OrderAnomaly,
    QuotesCancelled,
    QuotesComputed,
    QuotesTrimmed,
    Report,
    StateChanged,
    StopLossFired,
)
from phoenix.trader.trader import Trader

log = get_logger(__name__)

MS_NS = 1_000_000
_ACTIONABLE = frozenset({OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED})
_AT_EXCHANGE = frozenset(
    {OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_MODIFY}
)
_IN_FLIGHT = frozenset({OrderStatus.PENDING_NEW, OrderStatus.PENDING_MODIFY, OrderStatus.PENDING_CANCEL})
_MARKET_EVENTS = (BookDelta, BookSnapshot, TopOfBook, TradePrinted, MarkPriceUpdated)
_ACCOUNT_EVENTS = (OrderUpdated, OrderFilled, PositionSynced)
_QUIET_REPORTS = frozenset({"QuotesComputed", "QuotesTrimmed", "FillApplied", "OrderRejected"})
_TRADER_SNAPSHOT_KEY = "trader"
USER_STREAM_DOWN_RECONCILE_S = 2.0
MAX_DECIDE_ERRORS_PER_MIN = 20
_MAX_REMEMBERED = 50_000  # exchange ids / trade ids remembered (bounded memory over days)


def _server_now_ns(rest: BinanceRestClient | None) -> int:
    offset = rest.clock.offset_ms if rest is not None else 0
    return time.time_ns() + offset * MS_NS


class SymbolWorker:
    """One task per symbol: drains its inbox, asks the Trader, hands actions to the executor."""

    def __init__(self, app: RunnerApp, symbol: str) -> None:
        self.app = app
        self.symbol = symbol
        self.inbox: asyncio.Queue[tuple[int, Event]] = asyncio.Queue()
        self.events = 0  # events taken from the inbox and processed
        self.fed = 0  # events put into the inbox
        self._progress = asyncio.Event()  # set after each processed batch

    async def settled(self, timeout_s: float = 5.0) -> bool:
        """Wait (bounded) until every event fed before this call has been processed; False on timeout."""
        target = self.fed
        deadline = time.monotonic() + timeout_s
        while self.events < target:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                log.warning("worker_settle_timeout", symbol=self.symbol, pending=target - self.events)
                return False
            self._progress.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._progress.wait(), remaining)
        return True

    async def run(self) -> None:
        """Process events until cancelled (a crash is restarted by the supervisor)."""
        inbox = self.inbox
        app = self.app
        while True:
            batch = [await inbox.get()]
            while not inbox.empty() and len(batch) < 1024:
                batch.append(inbox.get_nowait())
            actions: list[Action] = []
            for recv_ns, event in batch:
                self.events += 1
                if recv_ns and isinstance(event, BookDelta | BookSnapshot | TopOfBook):
                    # the oldest book change not yet covered by a requote of this symbol
                    app.pending_tick_ns.setdefault(self.symbol, recv_ns)
                try:
                    produced = app.decide(event)
                except Exception as exc:  # a core bug: keep the other events of the batch, count, fail closed
                    app.on_decide_error(self.symbol, event, exc)
                    continue
                if produced:
                    actions.extend(produced)
            if actions:
                app.executor_submit(actions)
            self._progress.set()


class RunnerApp:
    """The whole live process for one account.

    Args:
        config: Validated configuration.
        config_path: The YAML file (enables hot reload when given).
        credentials: API credentials from the environment (None: simulator).
        duration_s: Stop cleanly after this many seconds (None: until a signal).
        report_json: Write the run report here at exit.
        status_view: Show the live terminal table (TTY).
        install_signal_handlers: Handle SIGINT/SIGTERM (off when embedded in tests).
        env: Environment for config reloads (default ``os.environ``).
        set_log_level: Re-applies the log level when a reload changes ``global.log_level``.
    """

    def __init__(
        self,
        config: PhoenixConfig,
        *,
        config_path: str | Path | None = None,
        credentials: Credentials | None = None,
        duration_s: float | None = None,
        report_json: str | Path | None = None,
        status_view: bool = False,
        install_signal_handlers: bool = True,
        env: Mapping[str, str] | None = None,
        set_log_level: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self._set_log_level = set_log_level
        self.config_path = Path(config_path) if config_path is not None else None
        self.credentials = credentials
        self.duration_s = duration_s
        self.report_json = Path(report_json) if report_json is not None else None
        self.status_view = status_view
        self.install_signal_handlers = install_signal_handlers
        self.env = env
        self.symbols = [s.symbol for s in config.enabled_symbols]
        self.state_dir = Path(config.global_.state_dir)
        self.started_ns = time.time_ns()
        self.stats = RunStats(self.symbols, self.started_ns)
        self.metrics = Metrics(self.symbols)
        self.lock = InstanceLock(self.state_dir)
        self.account_lock: InstanceLock | None = None  # machine-wide, keyed on the account (run())
        self.stop_event = asyncio.Event()
        self.stop_reason = ""
        self.exit_code = 0
        self.ready = asyncio.Event()  # set once quoting may start (recovery done)
        self.stopping = False
        self.embedded: Any = None
        self.endpoints: Endpoints | None = None
        self.signer: Signer | None = None
        self.rest: BinanceRestClient | None = None
        self.filters: dict[str, SymbolFilters] = {}
        self.trader: Trader | None = None
        self.ledger: Ledger | None = None
        self.gateway: OrderGateway | None = None
        self.market: MarketDataStream | None = None
        self.user: UserDataStream | None = None
        self.executor: ActionExecutor | None = None
        self.reconciler: Reconciler | None = None
        self.metrics_server: MetricsServer | None = None
        self.watcher: ConfigWatcher | None = None
        self.supervisor = Supervisor(on_restart=self._on_task_restart)
        self.workers: dict[str, SymbolWorker] = {s: SymbolWorker(self, s) for s in self.symbols}
        self.exchange_ids: BoundedMap[int, str] = BoundedMap(_MAX_REMEMBERED)
        self.pinning: dict[str, bool] = {s: False for s in self.symbols}
        self.pending_tick_ns: dict[str, int] = {}
        self._seen_trades: BoundedMap[tuple[str, int], bool] = BoundedMap(_MAX_REMEMBERED)
        self.wallet_usdc = 0.0
        self.final_symbols: dict[str, dict[str, Any]] = {}
        self.deadman_armed = False
        self.deadman_refreshes = 0
        self.last_deadman_ok_ns = 0
        self._background: set[asyncio.Task[None]] = set()
        self._deadman_halted: set[str] = set()
        self._halt_cancel_at: dict[str, float] = {}
        self._decide_errors: dict[str, RollingCount] = {}
        self._journaled_trades: BoundedMap[tuple[str, int], bool] = BoundedMap(_MAX_REMEMBERED)
        self._resyncing: set[str] = set()
        self._error_reconcile: asyncio.Task[None] | None = None
        # Public fault-injection / diagnostics hook: runs in ``decide`` right before the Trader; an exception
        # it raises is handled exactly like a Trader failure (tests use it; None in production).
        self.before_decide: Callable[[Event], None] | None = None
        self._mismatch_halted: set[str] = set()

    # ------------------------------------------------------------------ time

    def now_ns(self) -> int:
        """Server-corrected wall clock in ns (for timers and journal stamps)."""
        return _server_now_ns(self.rest)

    # ------------------------------------------------------------------ the hot path

    def decide(self, event: Event) -> list[Action]:
        """Journal one event, pass it to the Trader, record its reports; returns the actions."""
        trader = self.trader
        if trader is None:
            return []
        self._journal(event)
        if self.before_decide is not None:
            self.before_decide(event)
        t0 = time.perf_counter_ns()
        decision = trader.on_event(event)
        if isinstance(event, OrderFilled):
            # only now: a fill the Trader failed on stays unseen, so reconciliation backfills it again
            self._seen_trades[(event.fill.symbol, event.fill.trade_id)] = True
        dt = time.perf_counter_ns() - t0
        self.stats.add_decision(dt)
        self.metrics.decision.observe(dt / 1e9)
        if decision.reports:
            self._on_reports(decision.reports, event)
        if self.stopping:
            return [a for a in decision.actions if not _opens_risk(a)]
        return list(decision.actions)

    def on_decide_error(self, symbol: str, event: Event, exc: Exception) -> None:
        """``Trader.on_event`` raised: log it with the traceback; too many in a minute stops the runner."""
        self.metrics.errors.labels("decide_exception").inc()
        self.stats.add_error(None)
        kind = type(event).__name__
        log.error("decide_failed", symbol=symbol, event_type=kind, error=repr(exc), exc_info=exc)
        window = self._decide_errors.setdefault(symbol, RollingCount(60_000_000_000))
        now = time.monotonic_ns()
        window.add(now)
        if window.count(now) > MAX_DECIDE_ERRORS_PER_MIN and not self.stop_event.is_set():
            self.exit_code = 1
            self.request_stop(f"repeated trader failures on {symbol}")
            return
        # the event is lost to the Trader: fail closed and get the truth again
        if isinstance(event, _MARKET_EVENTS):
            self._resync_book(event.symbol)
        elif isinstance(event, _ACCOUNT_EVENTS):
            self._reconcile_after_error()

    def _resync_book(self, symbol: str) -> None:
        """Mark ``symbol`` out of sync and rebuild its book from a fresh snapshot (once at a time)."""
        market = self.market
        if market is None or symbol in self._resyncing or self.stopping:
            return
        self._resyncing.add(symbol)
        log.warning("book_resync_after_decide_error", symbol=symbol)

        async def run() -> None:
            try:
                await market.resync(symbol, "decide_error")
            finally:
                self._resyncing.discard(symbol)

        self._spawn_background(run())

    def _reconcile_after_error(self) -> None:
        """Reconcile now (coalesced: one at a time) after the Trader failed on an order/fill event."""
        if self.reconciler is None or not self.ready.is_set() or self.stopping:
            return
        if self._error_reconcile is not None and not self._error_reconcile.done():
            return
        log.warning("reconcile_after_decide_error")
        self._error_reconcile = self._spawn_background(self._reconcile_safely("decide_error"))

    def _spawn_background(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    def executor_submit(self, actions: list[Action]) -> None:
        """Hand actions to the executor (no-op before start)."""
        if self.executor is not None and actions:
            self.executor.submit(actions)

    def feed(self, event: Event, recv_ns: int = 0) -> None:
        """Route an event to its symbol's worker (account events are decided inline)."""
        symbol = _symbol_of(event)
        if symbol is None:
            try:
                self.executor_submit(self.decide(event))
            except Exception as exc:  # never let a core bug kill the stream task that delivered the event
                self.on_decide_error("account", event, exc)
            return
        worker = self.workers.get(symbol)
        if worker is not None:
            worker.fed += 1
            worker.inbox.put_nowait((recv_ns, event))

    async def _on_market(self, event: Event) -> None:
        if self.stopping or not self.ready.is_set():
            if isinstance(event, MarketDataStatus) or not self.ready.is_set():
                # before recovery completes the book still has to be built: keep market state current
                self.feed(event, 0)
            return
        self.feed(event, time.perf_counter_ns())

    async def _on_user(self, event: Event) -> None:
        self.feed(event, 0)

    def _on_user_invalid(self, event_type: str) -> None:
        """A private event we rely on failed validation: count it and reconcile (its content is lost)."""
        self.metrics.errors.labels(f"user_stream_invalid_{event_type.lower()}").inc()
        self.stats.add_error(None)
        self._reconcile_after_error()

    async def _on_user_reconnect(self) -> None:
        if self.reconciler is not None and self.ready.is_set():
            log.info("user_stream_reconnected_reconciling")
            task = asyncio.get_running_loop().create_task(self._reconcile_safely("user_stream_reconnect"))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    # ------------------------------------------------------------------ journal and reports

    def _journal(self, event: Event) -> None:
        ledger = self.ledger
        if isinstance(event, OrderUpdated):
            if ledger is not None:
                ledger.record_order_update(event)
            if event.exchange_order_id is not None:
                self.exchange_ids[event.exchange_order_id] = event.client_order_id
        elif isinstance(event, OrderFilled):
            fill = event.fill
            key = (fill.symbol, fill.trade_id)
            if key in self._journaled_trades:
                return
            self._journaled_trades[key] = True
            f = self.filters.get(fill.symbol)
            if ledger is not None and f is not None:
                ledger.record_fill(fill, f)
            s = self.stats.symbols.get(fill.symbol)
            if s is not None:
                s.fills += 1
                s.realized_pnl_usdc += fill.realized_pnl_usdc
                s.fees_usdc += fill.fee_usdc
                if fill.client_order_id not in s.orders_filled:
                    s.orders_filled.add(fill.client_order_id)
                    s.filled_5m.add(time.time_ns())
                m = self.metrics.symbols[fill.symbol]
                m.fills.inc()
                m.realized_pnl.set(s.realized_pnl_usdc)
                m.fees.set(s.fees_usdc)
            log.info(
                "fill",
                symbol=fill.symbol,
                side=fill.side.value,
                price_ticks=fill.price_ticks,
                qty_steps=fill.qty_steps,
                maker=fill.maker,
                fee_usdc=fill.fee_usdc,
                realized_pnl_usdc=fill.realized_pnl_usdc,
                trade_id=fill.trade_id,
            )
        elif isinstance(event, FundingPaid):
            if ledger is not None:
                ledger.record_funding(event.symbol, event.ts_ns, event.amount_usdc)
            s = self.stats.symbols.get(event.symbol)
            if s is not None:
                s.funding_usdc += event.amount_usdc
            self.metrics.funding_pnl_acc.set(sum(x.funding_usdc for x in self.stats.symbols.values()))
        elif isinstance(event, BalanceUpdated):
            self.wallet_usdc = event.wallet_usdc
            self.metrics.wallet.set(event.wallet_usdc)
            if ledger is not None:
                ledger.record_balance(event.ts_ns, event.wallet_usdc, "stream")
        elif isinstance(event, MarketDataStatus):
            self.pending_tick_ns.pop(event.symbol, None)
            if not event.in_sync:
                sm = self.metrics.symbols.get(event.symbol)
                if sm is not None:
                    sm.stale_cancels.inc()
                log.warning("market_data_out_of_sync", symbol=event.symbol, reason=event.reason)
            else:
                log.info("market_data_in_sync", symbol=event.symbol)

    def _on_reports(self, reports: Sequence[Report], event: Event) -> None:
        ledger = self.ledger
        for r in reports:
            if isinstance(r, QuotesComputed):
                self.pinning[r.symbol] = r.pinning_side is not None
                tick_ns = self.pending_tick_ns.pop(r.symbol, 0)
                if tick_ns and r.places + r.modifies + r.cancels > 0:
                    # book change received → the requote that sent orders for it (pacing included)
                    dt = time.perf_counter_ns() - tick_ns
                    self.stats.add_tick_to_order(dt)
                    self.metrics.tick_to_order.observe(dt / 1e9)
                continue
            kind = type(r).__name__
            self.metrics.risk_reports.labels(kind).inc()
            if isinstance(r, QuotesCancelled | StateChanged):
                self.pending_tick_ns.pop(r.symbol, None)  # not quoting: no tick is waiting for a requote
            if isinstance(r, QuotesTrimmed):
                for trim in r.trims:
                    self.metrics.risk_reports.labels(f"trim:{_reason_of(trim)}").inc()
                continue
            if kind in _QUIET_REPORTS:
                continue
            detail = _report_detail(r)
            symbol = str(detail.get("symbol", ""))
            if isinstance(r, GrindFired) and symbol in self.metrics.symbols:
                self.metrics.symbols[symbol].grind_count.inc()
            if ledger is not None:
                ledger.record_risk_event(event.ts_ns, symbol, kind, detail)
            level = log.error if isinstance(r, StopLossFired | OrderAnomaly) else log.warning
            level("trader_report", kind=kind, **detail)

    def _on_task_restart(self, name: str, exc: BaseException) -> None:
        self.stats.task_restarts[name] += 1
        self.metrics.task_restarts.labels(name).inc()

    # ------------------------------------------------------------------ state for views

    def symbol_state(self, symbol: str) -> str:
        """Trading state of a symbol as the Trader sees it (plus ``stale`` when not quotable)."""
        trader = self.trader
        if trader is None:
            return "starting"
        state = trader.trading_state(symbol)
        st = trader.store.symbols.get(symbol)
        if state == "active" and st is not None and not st.in_sync:
            return "stale"
        return state

    def live_counts(self, symbol: str) -> tuple[int, int]:
        """(bids, asks) of our orders acknowledged by the exchange and not known to be gone (the Trader's
        order tracker: NEW, PARTIALLY_FILLED, and those with a cancel/amend in flight)."""
        trader = self.trader
        if trader is None:
            return 0, 0
        bids = asks = 0
        for o in trader.orders.iter_open(symbol):
            if o.status in _AT_EXCHANGE:
                if o.side is Side.BUY:
                    bids += 1
                else:
                    asks += 1
        return bids, asks

    def symbol_row(self, symbol: str) -> dict[str, Any]:
        """Per-symbol figures for the status view, health and the report."""
        bids, asks = self.live_counts(symbol)
        row: dict[str, Any] = {
            "bid_layers": bids,
            "ask_layers": asks,
            "position": 0.0,
            "state": self.symbol_state(symbol),
        }
        trader = self.trader
        if trader is not None:
            st = trader.store.symbols.get(symbol)
            if st is not None:
                row["position"] = st.filters.steps_to_qty(st.position.qty_steps)
                mid = st.mid()
                row["mid"] = mid
                row["spread_ticks"] = st.book.spread_ticks()
                age_ns = self.now_ns() - st.last_book_ts_ns
                row["book_age_ms"] = age_ns / MS_NS if st.last_book_ts_ns else None
        s = self.stats.symbols[symbol]
        row["fills"] = s.fills
        row["pnl_usdc"] = s.realized_pnl_usdc - s.fees_usdc + s.funding_usdc
        return row

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Health for ``/health``: unhealthy while a critical task failed or the loop is stopping."""
        detail: dict[str, Any] = {
            "ready": self.ready.is_set(),
            "stopping": self.stopping,
            "deadman_armed": self.deadman_armed,
            "user_stream_connected": bool(self.user is not None and self.user.connected.is_set()),
            "ws_api_ready": bool(self.gateway is not None and self.gateway.ws_ready),
            "symbols": {s: self.symbol_row(s) for s in self.symbols},
            "pid": os.getpid(),
        }
        ok = self.ready.is_set() and not self.supervisor.failure and not self.stopping
        return ok, detail

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> int:
        """Run until stopped; returns the process exit code."""
        self.lock.acquire()
        try:
            self.account_lock = self._make_account_lock()
            if self.account_lock is not None:
                self.account_lock.acquire()
        except BaseException:
            self.lock.release()
            raise
        loop = asyncio.get_running_loop()
        if self.install_signal_handlers:  # from the very start: a stop during start-up is graceful too
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.request_stop, sig.name)
        try:
            try:
                await self._start()
            except (PhoenixError, OSError) as exc:
                log.error("startup_failed", error=str(exc))
                self.exit_code = 1
                self.stopping = True
                await self._shutdown()
                return self.exit_code
            await self._wait_stop()
            await self._shutdown()
            return self.exit_code
        finally:
            if self.install_signal_handlers:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)
            if self.account_lock is not None:
                self.account_lock.release()
            self.lock.release()

    def _make_account_lock(self) -> InstanceLock | None:
        """The account-wide lock (venue + API key hash, + URL for a simulator); None for the embedded sim,
        whose exchange is private to this state dir."""
        if uses_embedded_sim(self.config, self.credentials):
            return None
        g = self.config.global_
        api_key = self.credentials.api_key if self.credentials is not None else SIM_API_KEY
        try:
            url = configured_endpoints(self.config).rest if g.venue is Venue.SIM else ""
        except PhoenixError:
            return None  # a bad venue config fails start-up, with its own message
        return account_lock(g.venue.value, api_key, exchange_url=url, env=self.env)

    async def _start(self) -> None:
        g = self.config.global_
        log.info(
            "runner_starting",
            venue=g.venue.value,
            symbols=self.symbols,
            state_dir=str(self.state_dir),
            accel=phoenix.ACCEL.mode,
            accel_reason=phoenix.ACCEL.reason,
        )
        if uses_embedded_sim(self.config, self.credentials):
            from phoenix.runner.embedded_sim import EmbeddedSim

            self.embedded = EmbeddedSim(self.config)
            await self.embedded.start()
            self.endpoints = self.embedded.endpoints()
            self.signer = make_signer(self.config, None)
            write_sim_endpoint(self.state_dir, self.embedded.published())
            log.info("embedded_sim_started", rest_url=self.embedded.server.rest_url)
        else:
            self.endpoints = configured_endpoints(self.config)
            self.signer = make_signer(self.config, self.credentials)
        rest = BinanceRestClient(self.endpoints, self.signer, recv_window_ms=g.recv_window_ms)
        self.rest = rest
        await rest.start()
        self.filters = await rest.fetch_exchange_filters(self.symbols)
        market_max_steps = await fetch_market_max_steps(rest, self.filters)
        self.wallet_usdc = await fetch_wallet_usdc(rest)
        self.metrics.wallet.set(self.wallet_usdc)
        ledger_path = self.state_dir / LEDGER_FILE_NAME
        previous_snapshot: dict[str, Any] | None = None
        backfill_since_ms: dict[str, int] = {}
        if ledger_path.exists():
            with LedgerReader(ledger_path) as reader:
                snap = reader.latest_snapshot()
                previous_snapshot = snap[1] if snap is not None else None
                first_run = reader.first_run_started_ns()
                for s in self.symbols:
                    last = reader.last_fill_ts_ns(s) or first_run
                    if last:
                        # userTrades serves at most 7 days per query window
                        week_ago_ms = time.time_ns() // MS_NS - 7 * 86_400_000 + 60_000
                        backfill_since_ms[s] = max(last // MS_NS, week_ago_ms)
        self.ledger = Ledger(
            ledger_path,
            venue=g.venue.value,
            symbols=self.symbols,
            started_ns=self.started_ns,
            pid=os.getpid(),
        )
        reason = "reset:embedded_sim_start" if self.embedded is not None else "start"
        self.ledger.record_balance(self.now_ns(), self.wallet_usdc, reason)
        trader = Trader(
            self.config, self.filters, wallet_usdc=self.wallet_usdc, id_seed_ms=time.time_ns() // MS_NS
        )
        if previous_snapshot is not None and self.embedded is None:
            data = previous_snapshot.get(_TRADER_SNAPSHOT_KEY)
            if isinstance(data, dict):
                trader.restore(data)
                log.info("state_restored_from_snapshot")
        self.trader = trader
        self.executor = ActionExecutor(
            self._make_gateway(),
            rest,
            self.filters,
            self.ledger,
            self.stats,
            self.metrics,
            self.feed,
            self.now_ns,
            on_cancel_all_failed=self._cancel_all_failed,
            place_settle_ms=g.recv_window_ms,
            market_max_steps=market_max_steps,
            on_flatten_failed=self._flatten_failed,
        )
        self.reconciler = Reconciler(
            rest,
            self.filters,
            self._trader_view(),
            self.feed,
            self._on_mismatch,
            started_ms=self.started_ns // MS_NS,
            cancel=self._cancel_order,
            settle=self._settle_symbol,
        )
        for symbol, worker in self.workers.items():
            self.supervisor.start(f"worker:{symbol}", worker.run)
        await self._start_metrics()
        assert self.endpoints is not None
        self.user = UserDataStream(
            self.endpoints,
            rest,
            self.filters,
            self._on_user,
            on_reconnect=self._on_user_reconnect,
            on_invalid=self._on_user_invalid,
        )
        await self.user.start()
        await self.executor.gateway.start(wait_ready_s=5.0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.user.connected.wait(), 10.0)
        await self._recover(backfill_since_ms)
        self.market = MarketDataStream(
            self.endpoints,
            rest,
            self.filters,
            self.symbols,
            self._on_market,
            max_message_age_s={"public": max(2.0, g.stale_book_ms / 1000 * 2), "market": 10.0},
        )
        await self.market.start()
        await self._arm_deadman()
        self.ready.set()
        self.supervisor.start("timer", self._timer_loop)
        self.supervisor.start("deadman", self._deadman_loop)
        self.supervisor.start("reconcile", self._reconcile_loop)
        self.supervisor.start("snapshot", self._snapshot_loop)
        self.supervisor.start("time_sync", rest.run_time_sync, critical=False)
        if self.config_path is not None:
            self.watcher = ConfigWatcher(self.config_path, self.config, env=self.env)
            self.watcher.subscribe(self.apply_config)
            self.supervisor.start("config_watch", self.watcher.run, critical=False)
        if self.status_view:
            from phoenix.runner.status_view import run_status_view

            self.supervisor.start("status_view", lambda: run_status_view(self), critical=False)
        else:
            self.supervisor.start("status_log", self._status_log_loop, critical=False)
        log.info("runner_started", symbols=self.symbols, wallet_usdc=self.wallet_usdc)

    def _flatten_failed(self, symbol: str) -> None:
        """A flatten gave up with the position still open: journal it and halt the symbol (no quoting)."""
        if self.ledger is not None:
            self.ledger.record_risk_event(self.now_ns(), symbol, "flatten_failed", {})
        trader = self.trader
        if trader is not None and trader.trading_state(symbol) != "halted":
            self.executor_submit(list(trader.halt(symbol, "flatten_failed", self.now_ns()).actions))

    def _cancel_all_failed(self, symbol: str) -> None:
        """A cancel-all gave up: the orders are still live, so the Trader must see the cancel refused."""
        trader = self.trader
        if trader is None:
            return
        now = self.now_ns()
        n = 0
        for o in trader.orders.open_orders(symbol):
            if o.status is OrderStatus.PENDING_CANCEL:
                n += 1
                self.feed(
                    OrderUpdated(
                        symbol=symbol,
                        ts_ns=now,
                        client_order_id=o.client_order_id,
                        status=OrderStatus.REJECTED,
                        side=o.side,
                        price_ticks=o.price_ticks,
                        qty_steps=o.qty_steps,
                        error_code=None,
                    )
                )
        log.critical("cancel_all_gave_up", symbol=symbol, orders_reverted=n)

    def _make_gateway(self) -> OrderGateway:
        assert self.endpoints is not None and self.rest is not None and self.signer is not None
        self.gateway = OrderGateway(self.endpoints, self.rest, self.signer, self.filters)
        return self.gateway

    async def _start_metrics(self) -> None:
        m = self.config.global_.metrics
        if not m.enabled:
            return
        self.metrics_server = MetricsServer(self.metrics, self.health, host=m.host, port=m.port)
        try:
            await self.metrics_server.start()
        except OSError as exc:
            log.error("metrics_server_failed", host=m.host, port=m.port, error=str(exc))
            self.metrics_server = None
        else:
            self.metrics.up.set(1)

    async def _recover(self, backfill_since_ms: Mapping[str, int]) -> None:
        """Exchange is truth: adopt positions and open orders, resolve orders we believed open, backfill."""
        assert self.rest is not None and self.reconciler is not None and self.ledger is not None
        positions = await fetch_positions(self.rest, self.filters)
        now = self.now_ns()
        for s in self.symbols:
            ev = positions.get(s) or PositionSynced(symbol=s, ts_ns=now, qty_steps=0, entry_price=0.0)
            self.feed(ev)
        await self._settle()
        await self.reconciler.run_once()
        await self._settle()
        for s, since_ms in backfill_since_ms.items():
            try:
                trades = await fetch_user_trades(self.rest, s, since_ms)
            except ExchangeError as exc:
                log.warning("ledger_backfill_failed", symbol=s, error=str(exc))
                continue
            f = self.filters[s]
            for t in trades:
                coid = self.exchange_ids.get(t.orderId) or f"order-{t.orderId}"
                self.ledger.record_fill(fill_from_trade(t, f, coid), f, source="recovery")
        open_orders = {s: sum(self.live_counts(s)) for s in self.symbols}
        log.info(
            "recovered",
            positions={s: self.filters[s].steps_to_qty(p.qty_steps) for s, p in positions.items()},
            open_orders=open_orders,
        )

    async def _settle(self, timeout_s: float = 2.0) -> None:
        """Wait until every worker inbox is empty (bounded)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and any(not w.inbox.empty() for w in self.workers.values()):
            await asyncio.sleep(0.005)
        await asyncio.sleep(0)

    async def _wait_stop(self) -> None:
        waiters = [
            asyncio.create_task(self.stop_event.wait()),
            asyncio.create_task(self.supervisor.wait_failed()),
        ]
        if self.duration_s is not None:
            waiters.append(asyncio.create_task(asyncio.sleep(self.duration_s)))
        _done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for t in pending:
            t.cancel()
        if self.supervisor.failure:
            self.stop_reason = self.supervisor.failure
            self.exit_code = 1
        elif not self.stop_reason:
            self.stop_reason = "duration elapsed"

    def request_stop(self, reason: str = "requested") -> None:
        """Ask the runner to stop gracefully (cancel quotes, keep inventory)."""
        if not self.stop_event.is_set():
            self.stop_reason = reason
            log.warning("stop_requested", reason=reason)
            self.stop_event.set()

    async def _shutdown(self) -> None:
        log.info("runner_stopping", reason=self.stop_reason)
        self.final_symbols = {s: self.symbol_row(s) for s in self.symbols}
        self.stopping = True
        if self.executor is not None:
            self.executor.accept_new_orders = False
        trader, rest = self.trader, self.rest
        if trader is not None and self.executor is not None:
            decision = trader.cancel_all_quotes("shutdown", self.now_ns())
            self.executor.submit(list(decision.actions))
            await self.executor.drain(5.0)
        if rest is not None and self.filters:
            await self._cancel_everything(rest)
            await asyncio.sleep(0.3)  # let the user stream deliver the CANCELED updates for the journal
        await self.supervisor.stop()
        if self.market is not None:
            await self.market.stop()
        if self.user is not None:
            await self.user.stop()
        if self.gateway is not None:
            await self.gateway.close()
        if rest is not None and self.ledger is not None:
            await self._close_books(rest)
        if self.ledger is not None:
            if trader is not None:
                self.ledger.record_snapshot(self.now_ns(), self._snapshot())
            self.ledger.close()
            if self.ledger.error is not None:
                log.error("ledger_write_error", error=repr(self.ledger.error))
        if self.metrics_server is not None:
            await self.metrics_server.stop()
        if rest is not None:
            await rest.close()
        if self.embedded is not None:
            remove_sim_endpoint(self.state_dir)
            await self.embedded.stop()
        self._write_report()
        log.info("runner_stopped", reason=self.stop_reason, exit_code=self.exit_code)

    async def _cancel_everything(self, rest: BinanceRestClient) -> None:
        """REST cancel-all per symbol until the exchange lists no open order (bounded retries)."""
        for symbol in self.symbols:
            for attempt in range(3):
                try:
                    await rest.cancel_all_orders(symbol)
                    if not await rest.fetch_open_orders(symbol):
                        break
                except ExchangeError as exc:
                    log.error("shutdown_cancel_failed", symbol=symbol, attempt=attempt, error=str(exc))
                await asyncio.sleep(0.2)

    async def _close_books(self, rest: BinanceRestClient) -> None:
        """Backfill fills the stream did not deliver, then journal the final wallet (for the wallet check)."""
        assert self.ledger is not None
        for s in self.symbols:
            try:
                trades = await fetch_user_trades(rest, s, self.started_ns // MS_NS)
            except ExchangeError as exc:
                log.warning("final_backfill_failed", symbol=s, error=str(exc))
                continue
            f = self.filters[s]
            for t in trades:
                if (s, t.id) in self._seen_trades:
                    continue
                coid = self.exchange_ids.get(t.orderId) or f"order-{t.orderId}"
                self.ledger.record_fill(fill_from_trade(t, f, coid), f, source="final_backfill")
        try:
            wallet = await fetch_wallet_usdc(rest)
        except ExchangeError as exc:
            log.warning("final_wallet_failed", error=str(exc))
            return
        self.ledger.record_balance(self.now_ns(), wallet, "stop")

    def _snapshot(self) -> dict[str, Any]:
        assert self.trader is not None
        return {
            _TRADER_SNAPSHOT_KEY: self.trader.to_snapshot(),
            "wallet_usdc": self.wallet_usdc,
        }

    def report(self) -> dict[str, Any]:
        """The run report document (``--report-json``)."""
        symbols = self.final_symbols or {s: self.symbol_row(s) for s in self.symbols}
        slim: dict[str, dict[str, Any]] = {}
        for s, row in symbols.items():
            st = self.stats.symbols[s]
            slim[s] = {
                # the most layers quoted at once during the run (what "shows 24 layers per side" means);
                # the counts at stop time are final_*
                "bid_layers": max(st.max_bid_layers, row["bid_layers"]),
                "ask_layers": max(st.max_ask_layers, row["ask_layers"]),
                "position": row["position"],
                "state": row["state"],
                "final_bid_layers": row["bid_layers"],
                "final_ask_layers": row["ask_layers"],
            }
        doc = self.stats.report(slim, time.time_ns())
        doc["stop_reason"] = self.stop_reason
        doc["exit_code"] = self.exit_code
        doc["deadman_refreshes"] = self.deadman_refreshes
        if self.reconciler is not None:
            doc["reconcile_rounds"] = self.reconciler.rounds
            doc["reconcile_mismatches"] = self.reconciler.mismatches
        return doc

    def _write_report(self) -> None:
        if self.report_json is None:
            return
        self.report_json.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.report_json.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps(self.report(), option=orjson.OPT_INDENT_2, default=str))
        os.replace(tmp, self.report_json)

    # ------------------------------------------------------------------ periodic tasks

    async def _timer_loop(self) -> None:
        g = self.config.global_
        while True:
            # A quarter of the no-op hold (interval/4, see Trader.on_event): a requote held back after a pass
            # that sent nothing is picked up within ~interval/4 even when no further book event arrives.
            period_s = max(0.01, min(0.1, g.quote_interval_ms / 8000, g.stale_book_ms / 4000))
            await asyncio.sleep(period_s)
            g = self.config.global_
            self.executor_submit(self.decide(TimerFired(ts_ns=self.now_ns())))
            self._sample()
            if self.ledger is not None and self.ledger.error is not None and not self.stop_event.is_set():
                # every intent must be journalled: a ledger that cannot write stops trading (fail closed)
                log.critical("ledger_write_failed", error=repr(self.ledger.error))
                self.exit_code = 1
                self.request_stop("ledger write failure")

    def _sample(self) -> None:
        trader = self.trader
        if trader is None:
            return
        now = self.now_ns()
        all_full = True
        for s in self.symbols:
            st = trader.store.symbols.get(s)
            m = self.metrics.symbols[s]
            bids, asks = self.live_counts(s)
            m.open_orders_bid.set(bids)
            m.open_orders_ask.set(asks)
            self.stats.observe_layers(s, bids, asks)
            cfg = trader.store.symbols[s].config if st is not None else None
            if cfg is not None:
                want = cfg.near_layers + cfg.far_layers
                if bids < want or asks < want:
                    all_full = False
            state = self.symbol_state(s)
            m.state.set(STATE_CODES.get(state, 0))
            m.cancels_per_min.set(self.stats.symbols[s].cancel_window.count(now))
            m.fill_rate_5m.set(self.stats.symbols[s].fill_rate_5m(time.time_ns()))
            if st is None:
                continue
            m.position.set(st.filters.steps_to_qty(st.position.qty_steps))
            net_max = st.net_max_steps()
            ratio = abs(st.position.qty_steps) / net_max if net_max > 0 else 0.0
            m.position_ratio.set(ratio)
            self.stats.observe_position_ratio(s, ratio)
            if st.last_book_ts_ns:
                m.book_age_seconds.set(max(0.0, (now - st.last_book_ts_ns) / 1e9))
            m.pinning_active.set(1 if self.pinning.get(s) else 0)
        self._enforce_halts(trader)
        if all_full and not self.stats.all_ladders_full_at_ns:
            self.stats.all_ladders_full_at_ns = time.time_ns()
            log.info("all_ladders_full", seconds=(self.stats.all_ladders_full_at_ns - self.started_ns) / 1e9)
        self.metrics.total_notional.set(trader.store.total_notional_usdc())
        self.metrics.equity.set(trader.store.equity_usdc())
        pnl = sum(x.realized_pnl_usdc - x.fees_usdc + x.funding_usdc for x in self.stats.symbols.values())
        self.metrics.pnl.set(pnl)
        if self.rest is not None:
            usage = self.rest.limiter.usage()
            for name, frac in usage.items():
                self.metrics.rate_limit_usage.labels(name).set(frac * 100.0)
            if usage:
                self.stats.observe_rate_limit(max(usage.values()) * 100.0)

    def _enforce_halts(self, trader: Trader) -> None:
        """A halted symbol must end up with no order: if some are still acknowledged at the exchange and no
        cancel is under way (e.g. its cancel-all failed during an outage), cancel again (≤ once per 5 s)."""
        now = time.monotonic()
        for symbol in self.symbols:
            if trader.trading_state(symbol) != "halted" and not trader.stopped:
                continue
            orders = trader.orders.open_orders(symbol)
            if not any(o.status in _ACTIONABLE for o in orders):
                continue
            if any(o.status is OrderStatus.PENDING_CANCEL for o in orders):
                continue
            if now - self._halt_cancel_at.get(symbol, 0.0) < 5.0:
                continue
            self._halt_cancel_at[symbol] = now
            log.warning("halted_symbol_still_has_orders", symbol=symbol, orders=len(orders))
            self.executor_submit([CancelAll(symbol=symbol, reason="halted_orders_left")])

    async def _arm_deadman(self) -> bool:
        """(Re)arm ``countdownCancelAll`` for every symbol; True when all succeeded."""
        assert self.rest is not None
        countdown = self.config.global_.deadman_countdown_ms
        results = await asyncio.gather(
            *(self.rest.countdown_cancel_all(s, countdown) for s in self.symbols), return_exceptions=True
        )
        failed = [s for s, r in zip(self.symbols, results, strict=True) if isinstance(r, BaseException)]
        if failed:
            errors = [repr(r) for r in results if isinstance(r, BaseException)]
            log.error("deadman_refresh_failed", symbols=failed, errors=errors[:3])
            self._deadman_guard(ok=False)
            return False
        if not self.deadman_armed:
            log.info("deadman_armed", countdown_ms=countdown, symbols=self.symbols)
        self.deadman_armed = True
        self.deadman_refreshes += 1
        self.last_deadman_ok_ns = time.time_ns()
        self._deadman_guard(ok=True)
        return True

    def _deadman_guard(self, ok: bool) -> None:
        """Fail closed while the exchange dead-man switch cannot be kept armed.

        If no refresh succeeded for half the countdown, a frozen process could leave orders behind: halt
        every symbol (cancel quotes, keep inventory). When refreshing works again, resume exactly the
        symbols halted for this reason (never one halted by reconciliation or the stop-loss latch).
        """
        trader = self.trader
        if trader is None:
            return
        now = self.now_ns()
        if ok:
            if not self._deadman_halted:
                return
            for symbol in sorted(self._deadman_halted - self._mismatch_halted):
                if trader.trading_state(symbol) == "halted":
                    self.executor_submit(list(trader.resume(symbol, now).actions))
            log.warning("deadman_rearmed_resumed", symbols=sorted(self._deadman_halted))
            self._deadman_halted.clear()
            return
        unarmed_ns = time.time_ns() - self.last_deadman_ok_ns
        if unarmed_ns * 2 < self.config.global_.deadman_countdown_ms * MS_NS:
            return
        self.deadman_armed = False
        for symbol in self.symbols:
            if symbol in self._deadman_halted or trader.trading_state(symbol) == "halted":
                continue
            self._deadman_halted.add(symbol)
            self.executor_submit(list(trader.halt(symbol, "deadman_unarmed", now).actions))
            if self.ledger is not None:
                detail = {"unarmed_ms": unarmed_ns // MS_NS}
                self.ledger.record_risk_event(now, symbol, "deadman_unarmed", detail)
        log.critical("deadman_unarmed_halted", symbols=sorted(self._deadman_halted))

    async def _deadman_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.global_.deadman_refresh_s)
            await self._arm_deadman()

    async def _reconcile_loop(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.25)
            interval = self.config.global_.reconcile_interval_s
            user_down = self.user is not None and not self.user.connected.is_set()
            if user_down:
                # a quiet/dead user stream with open orders is an incident: poll the exchange faster
                interval = min(interval, USER_STREAM_DOWN_RECONCILE_S)
            if time.monotonic() - last < interval:
                continue
            if user_down:
                log.warning("user_stream_down_polling", interval_s=interval)
            await self._reconcile_safely("periodic")
            last = time.monotonic()

    async def _reconcile_safely(self, why: str) -> None:
        if self.reconciler is None or self.stopping:
            return
        try:
            await self.reconciler.run_once()
        except ExchangeError as exc:
            log.warning("reconcile_failed", why=why, error=str(exc))

    def _cancel_order(self, symbol: str, client_order_id: str) -> None:
        """Send a cancel for one order (reconciliation: an own order we had taken for gone)."""
        self.executor_submit([CancelOrder(symbol=symbol, client_order_id=client_order_id)])

    async def _settle_symbol(self, symbol: str) -> None:
        """Return once the symbol's worker has applied every event fed so far (bounded)."""
        worker = self.workers.get(symbol)
        if worker is not None:
            await worker.settled()

    async def _on_mismatch(self, m: Mismatch) -> None:
        """Unexplained difference: cancel and halt that symbol (never flatten on a guess)."""
        self.metrics.reconcile_mismatches.labels(m.symbol).inc()
        log.error(
            "reconcile_mismatch_halt",
            symbol=m.symbol,
            kind=m.kind,
            local=m.local,
            exchange=m.exchange,
            detail=m.detail,
        )
        if self.ledger is not None:
            detail = dataclasses.asdict(m)
            self.ledger.record_risk_event(self.now_ns(), m.symbol, "reconcile_mismatch", detail)
        self._mismatch_halted.add(m.symbol)
        if self.trader is not None:
            decision = self.trader.halt(m.symbol, f"reconcile_{m.kind}_mismatch", self.now_ns())
            self.executor_submit(list(decision.actions))

    async def _snapshot_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.global_.snapshot_interval_s)
            if self.ledger is not None and self.trader is not None:
                self.ledger.record_snapshot(self.now_ns(), self._snapshot())

    async def _status_log_loop(self) -> None:
        while True:
            await asyncio.sleep(10.0)
            log.info("status", symbols={s: self.symbol_row(s) for s in self.symbols})

    # ------------------------------------------------------------------ hot reload

    def apply_config(self, new: PhoenixConfig) -> None:
        """Take a validated, merged config (reloadable fields only) into the running loop."""
        old_level = self.config.global_.log_level
        self.config = new
        if new.global_.log_level != old_level and self._set_log_level is not None:
            self._set_log_level(new.global_.log_level)
        log.info("config_applied", quote_interval_ms=new.global_.quote_interval_ms)
        self.executor_submit(self.decide(ConfigChanged(ts_ns=self.now_ns(), config=new)))

    def _trader_view(self) -> TraderView:
        def trader() -> Trader:
            assert self.trader is not None
            return self.trader

        def position_steps(symbol: str) -> int:
            return int(trader().store.symbols[symbol].position.qty_steps)

        def open_ids(symbol: str) -> set[str]:
            return {o.client_order_id for o in trader().orders.iter_open(symbol)}

        def order_of(symbol: str, client_order_id: str) -> LiveOrder | None:
            return trader().orders.get(client_order_id, symbol)

        def in_flight(symbol: str) -> set[str]:
            return {
                o.client_order_id
                for o in trader().orders.iter_open(symbol)
                if o.status in _IN_FLIGHT and time.time_ns() - o.updated_ns < 5_000_000_000
            }

        def seen(symbol: str, trade_id: int) -> bool:
            return (symbol, trade_id) in self._seen_trades or trader().store.symbols[symbol].has_seen_fill(
                trade_id
            )

        return TraderView(position_steps, open_ids, in_flight, seen, self.exchange_ids.get, order_of)


# --------------------------------------------------------------------------- helpers


K = TypeVar("K")
V = TypeVar("V")


class BoundedMap(OrderedDict[K, V]):
    """Insertion-ordered dict that forgets its oldest entries beyond ``max_len``."""

    def __init__(self, max_len: int) -> None:
        super().__init__()
        self.max_len = max_len

    def __setitem__(self, key: K, value: V) -> None:
        super().__setitem__(key, value)
        if len(self) > self.max_len:
            self.popitem(last=False)


def _symbol_of(event: Event) -> str | None:
    if isinstance(event, OrderFilled):
        return event.fill.symbol
    symbol = getattr(event, "symbol", None)
    return symbol if isinstance(symbol, str) else None


def _opens_risk(action: Action) -> bool:
    from phoenix.core.types import ModifyOrder, PlaceOrder

    return isinstance(action, PlaceOrder | ModifyOrder)


def _report_detail(report: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(report) and not isinstance(report, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(report):
            v = getattr(report, f.name)
            plain = isinstance(v, str | int | float | bool | type(None))
            out[f.name] = v if plain else str(getattr(v, "value", v))
        return out
    return {"repr": repr(report)}


def _reason_of(trim: object) -> str:
    reason = getattr(trim, "reason", "unknown")
    return str(getattr(reason, "value", reason))
