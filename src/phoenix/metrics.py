"""Prometheus metrics of the live runner (one registry, one place) and the ``/metrics`` + ``/health`` server.

Names follow the spec: ``mm_position{symbol}``, ``mm_fill_rate_5m{symbol}``, ``mm_total_notional``,
``mm_funding_pnl_acc``, ``mm_pinning_active{symbol}``, ``mm_grind_count_total{symbol}``, latency
histograms (``mm_tick_to_order_seconds``, ``mm_order_round_trip_seconds``), ``mm_rate_limit_usage_pct``,
``mm_cancels_per_min{symbol}`` and PnL gauges. Labelled children are pre-bound per symbol (hot path).
The HTTP server binds 127.0.0.1 by default and exposes read-only endpoints only.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

import phoenix
from phoenix.log import get_logger

log = get_logger(__name__)

_LATENCY_BUCKETS_S = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)

STATE_CODES = {"active": 0, "reducing_only": 1, "halted": 2, "stale": 3, "starting": 4}


class RollingCount:
    """Count of events in a trailing time window (``window_ns``), for cancels/min and 5-min fill rates."""

    def __init__(self, window_ns: int) -> None:
        self.window_ns = window_ns
        self._times: deque[int] = deque()

    def add(self, ts_ns: int, n: int = 1) -> None:
        """Record ``n`` events at ``ts_ns``."""
        for _ in range(n):
            self._times.append(ts_ns)

    def count(self, now_ns: int) -> int:
        """Events within ``(now_ns - window_ns, now_ns]``."""
        horizon = now_ns - self.window_ns
        times = self._times
        while times and times[0] <= horizon:
            times.popleft()
        return len(times)


@dataclass(slots=True)
class SymbolMetrics:
    """Pre-bound labelled children of one symbol."""

    position: Any
    position_ratio: Any
    fill_rate_5m: Any
    pinning_active: Any
    grind_count: Any
    cancels_per_min: Any
    orders_placed: Any
    orders_cancelled: Any
    fills: Any
    open_orders_bid: Any
    open_orders_ask: Any
    state: Any
    book_age_seconds: Any
    stale_cancels: Any
    realized_pnl: Any
    fees: Any


class Metrics:
    """All runner metrics in a private registry (tests create as many as they like)."""

    def __init__(self, symbols: Sequence[str], registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self._position = Gauge("mm_position", "Signed position in base units", ["symbol"], registry=r)
        self._position_ratio = Gauge(
            "mm_position_ratio", "|position| / net_max of the symbol", ["symbol"], registry=r
        )
        self._fill_rate = Gauge(
            "mm_fill_rate_5m", "Filled orders / placed orders over the last 5 minutes", ["symbol"], registry=r
        )
        self.total_notional = Gauge("mm_total_notional", "Σ |position| × mid in USDC", registry=r)
        self.funding_pnl_acc = Gauge("mm_funding_pnl_acc", "Accumulated funding PnL in USDC", registry=r)
        self._pinning = Gauge(
            "mm_pinning_active", "1 while the reducing side is pinned to the touch", ["symbol"], registry=r
        )
        self._grind = Counter("mm_grind_count", "Grinding actions fired", ["symbol"], registry=r)
        self.tick_to_order = Histogram(
            "mm_tick_to_order_seconds",
            "Market event received → first resulting order request sent",
            buckets=_LATENCY_BUCKETS_S,
            registry=r,
        )
        self.decision = Histogram(
            "mm_decision_seconds", "Time inside Trader.on_event", buckets=_LATENCY_BUCKETS_S, registry=r
        )
        self.order_round_trip = Histogram(
            "mm_order_round_trip_seconds",
            "Order request sent → exchange acknowledgement",
            buckets=_LATENCY_BUCKETS_S,
            registry=r,
        )
        self.rate_limit_usage = Gauge(
            "mm_rate_limit_usage_pct", "Used share of an exchange rate limit in %", ["limit"], registry=r
        )
        self._cancels_per_min = Gauge(
            "mm_cancels_per_min", "Cancels over the last minute", ["symbol"], registry=r
        )
        self.pnl = Gauge("mm_pnl_usdc", "Σ realised − fees + funding in USDC (this run)", registry=r)
        self._realized = Gauge("mm_realized_pnl_usdc", "Realised PnL (this run)", ["symbol"], registry=r)
        self._fees = Gauge("mm_fees_usdc", "Commissions in USDC (this run)", ["symbol"], registry=r)
        self.equity = Gauge("mm_equity_usdc", "Wallet + unrealised PnL in USDC", registry=r)
        self.wallet = Gauge("mm_wallet_usdc", "Wallet balance in USDC", registry=r)
        self._orders_placed = Counter("mm_orders_placed", "Orders sent", ["symbol"], registry=r)
        self._orders_cancelled = Counter("mm_orders_cancelled", "Cancels sent", ["symbol"], registry=r)
        self._fills = Counter("mm_fills", "Fills received", ["symbol"], registry=r)
        self._open_orders = Gauge("mm_open_orders", "Own live orders", ["symbol", "side"], registry=r)
        self._state = Gauge(
            "mm_symbol_state",
            "0 active, 1 reducing_only, 2 halted, 3 stale (fail closed), 4 starting",
            ["symbol"],
            registry=r,
        )
        self._book_age = Gauge("mm_book_age_seconds", "Age of the last book update", ["symbol"], registry=r)
        self._stale_cancels = Counter(
            "mm_stale_cancels", "Quote cancels for stale/out-of-sync data", ["symbol"], registry=r
        )
        self.errors = Counter("mm_errors", "Exchange errors by Binance code", ["code"], registry=r)
        self.task_restarts = Counter("mm_task_restarts", "Supervised task restarts", ["task"], registry=r)
        self.reconcile_mismatches = Counter(
            "mm_reconcile_mismatch", "Unexplained exchange/local mismatches", ["symbol"], registry=r
        )
        self.risk_reports = Counter("mm_risk_reports", "Risk/trader reports by kind", ["kind"], registry=r)
        self.up = Gauge("mm_up", "1 while the runner loop is healthy", registry=r)
        self.accel_compiled = Gauge(
            "mm_accel_compiled", "1 when the mypyc-compiled hot path is in use, 0 for pure Python", registry=r
        )
        self.accel_compiled.set(1 if phoenix.ACCEL.compiled else 0)
        self.symbols: dict[str, SymbolMetrics] = {}
        for s in symbols:
            self.add_symbol(s)

    def add_symbol(self, symbol: str) -> SymbolMetrics:
        """Bind (once) the labelled children of ``symbol``."""
        if symbol in self.symbols:
            return self.symbols[symbol]
        m = SymbolMetrics(
            position=self._position.labels(symbol),
            position_ratio=self._position_ratio.labels(symbol),
            fill_rate_5m=self._fill_rate.labels(symbol),
            pinning_active=self._pinning.labels(symbol),
            grind_count=self._grind.labels(symbol),
            cancels_per_min=self._cancels_per_min.labels(symbol),
            orders_placed=self._orders_placed.labels(symbol),
            orders_cancelled=self._orders_cancelled.labels(symbol),
            fills=self._fills.labels(symbol),
            open_orders_bid=self._open_orders.labels(symbol, "BUY"),
            open_orders_ask=self._open_orders.labels(symbol, "SELL"),
            state=self._state.labels(symbol),
            book_age_seconds=self._book_age.labels(symbol),
            stale_cancels=self._stale_cancels.labels(symbol),
            realized_pnl=self._realized.labels(symbol),
            fees=self._fees.labels(symbol),
        )
        m.state.set(STATE_CODES["starting"])
        self.symbols[symbol] = m
        return m

    def render(self) -> bytes:
        """Prometheus text exposition of the registry."""
        return generate_latest(self.registry)


HealthFn = Callable[[], tuple[bool, dict[str, Any]]]


class MetricsServer:
    """aiohttp server with ``GET /metrics`` (Prometheus) and ``GET /health`` (JSON; 503 when unhealthy)."""

    def __init__(self, metrics: Metrics, health: HealthFn, host: str = "127.0.0.1", port: int = 8080) -> None:
        self.metrics = metrics
        self.health = health
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def _metrics(self, _request: web.Request) -> web.Response:
        body = self.metrics.render()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _health(self, _request: web.Request) -> web.Response:
        ok, detail = self.health()
        return web.Response(
            body=orjson.dumps({"status": "ok" if ok else "unhealthy", **detail}, default=str),
            status=200 if ok else 503,
            content_type="application/json",
        )

    async def start(self) -> None:
        """Bind and serve; with ``port=0`` the chosen port is stored in ``self.port``."""
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/health", self._health)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        self._runner = runner
        log.info("metrics_server_started", host=self.host, port=self.port)

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
