"""Figures of one run for ``--report-json``: orders, fills, PnL, latency percentiles, peaks, errors."""

from __future__ import annotations

import resource
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from phoenix.metrics import RollingCount

_MAX_SAMPLES = 200_000
MINUTE_NS = 60_000_000_000


def percentile(samples: Iterable[int], pct: float) -> float:
    """Nearest-rank percentile of integer samples (0.0 when empty)."""
    ordered = sorted(samples)
    if not ordered:
        return 0.0
    k = min(len(ordered) - 1, max(0, round(pct / 100.0 * (len(ordered) - 1))))
    return float(ordered[k])


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@dataclass(slots=True)
class SymbolRunStats:
    """Per-symbol counters of one run."""

    orders_placed: int = 0
    orders_confirmed: int = 0
    orders_cancelled: int = 0
    orders_filled: set[str] = field(default_factory=set)  # ids of orders with ≥ 1 fill
    fills: int = 0
    realized_pnl_usdc: float = 0.0
    fees_usdc: float = 0.0
    funding_usdc: float = 0.0
    cancels_per_min_max: int = 0
    max_abs_position_ratio: float = 0.0
    full_ladder_at_ns: int = 0
    max_bid_layers: int = 0
    max_ask_layers: int = 0
    cancel_window: RollingCount = field(default_factory=lambda: RollingCount(MINUTE_NS))
    placed_5m: RollingCount = field(default_factory=lambda: RollingCount(5 * MINUTE_NS))
    filled_5m: RollingCount = field(default_factory=lambda: RollingCount(5 * MINUTE_NS))

    def fill_rate_5m(self, now_ns: int) -> float:
        """Orders that got a first fill / orders confirmed, both over the last 5 minutes."""
        placed = self.placed_5m.count(now_ns)
        return min(1.0, self.filled_5m.count(now_ns) / placed) if placed else 0.0


class RunStats:
    """Accumulates the run's figures; ``report()`` returns the JSON document of the issue."""

    def __init__(self, symbols: list[str], started_ns: int) -> None:
        self.started_ns = started_ns
        self.symbols = {s: SymbolRunStats() for s in symbols}
        self.decision_ns: deque[int] = deque(maxlen=_MAX_SAMPLES)  # the most recent samples
        self.tick_to_order_ns: deque[int] = deque(maxlen=_MAX_SAMPLES)
        self.errors_by_code: Counter[str] = Counter()
        self.rate_limit_peak_pct = 0.0
        self.task_restarts: Counter[str] = Counter()
        self.all_ladders_full_at_ns = 0

    def add_decision(self, dt_ns: int) -> None:
        """One ``Trader.on_event`` duration."""
        self.decision_ns.append(dt_ns)

    def add_tick_to_order(self, dt_ns: int) -> None:
        """One market event → first order request latency."""
        self.tick_to_order_ns.append(dt_ns)

    def add_cancels(self, symbol: str, n: int, now_ns: int) -> None:
        """``n`` cancel requests sent for ``symbol``."""
        s = self.symbols[symbol]
        s.orders_cancelled += n
        s.cancel_window.add(now_ns, n)
        s.cancels_per_min_max = max(s.cancels_per_min_max, s.cancel_window.count(now_ns))

    def add_error(self, code: int | None) -> None:
        """An exchange error (rejection) by Binance code ("none" for transport failures)."""
        self.errors_by_code[str(code) if code is not None else "none"] += 1

    def observe_rate_limit(self, usage_pct: float) -> None:
        """Current peak rate-limit usage in %."""
        self.rate_limit_peak_pct = max(self.rate_limit_peak_pct, usage_pct)

    def observe_position_ratio(self, symbol: str, ratio: float) -> None:
        """|position| / net_max sample."""
        s = self.symbols[symbol]
        s.max_abs_position_ratio = max(s.max_abs_position_ratio, ratio)

    def observe_layers(self, symbol: str, bids: int, asks: int) -> None:
        """Live orders per side at one sample."""
        s = self.symbols[symbol]
        s.max_bid_layers = max(s.max_bid_layers, bids)
        s.max_ask_layers = max(s.max_ask_layers, asks)

    def report(self, symbols_now: dict[str, dict[str, Any]], ended_ns: int) -> dict[str, Any]:
        """The run report (keys fixed by the issue, plus a few extra diagnostics)."""
        placed = sum(s.orders_placed for s in self.symbols.values())
        confirmed = sum(s.orders_confirmed for s in self.symbols.values())
        filled = sum(len(s.orders_filled) for s in self.symbols.values())
        fees = sum(s.fees_usdc for s in self.symbols.values())
        pnl = sum(s.realized_pnl_usdc - s.fees_usdc + s.funding_usdc for s in self.symbols.values())
        full = self.all_ladders_full_at_ns
        return {
            "orders_placed": placed,
            "orders_cancelled": sum(s.orders_cancelled for s in self.symbols.values()),
            "fills": sum(s.fills for s in self.symbols.values()),
            "fill_rate": filled / confirmed if confirmed else 0.0,
            "pnl": pnl,
            "fees": fees,
            "cancels_per_min_max": max((s.cancels_per_min_max for s in self.symbols.values()), default=0),
            "max_abs_position_ratio": max(
                (s.max_abs_position_ratio for s in self.symbols.values()), default=0.0
            ),
            "rate_limit_peak_pct": self.rate_limit_peak_pct,
            "decision_latency_p50_us": percentile(self.decision_ns, 50) / 1000.0,
            "decision_latency_p99_us": percentile(self.decision_ns, 99) / 1000.0,
            "tick_to_order_p50_us": percentile(self.tick_to_order_ns, 50) / 1000.0,
            "tick_to_order_p99_us": percentile(self.tick_to_order_ns, 99) / 1000.0,
            "peak_rss_mb": peak_rss_mb(),
            "errors_by_code": dict(self.errors_by_code),
            "task_restarts": dict(self.task_restarts),
            "duration_s": (ended_ns - self.started_ns) / 1e9,
            "time_to_full_ladders_s": (full - self.started_ns) / 1e9 if full else None,
            "symbols": symbols_now,
        }
