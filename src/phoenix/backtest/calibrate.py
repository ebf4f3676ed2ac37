"""Calibrate the intensity fill model λ(δ) = A·e^(−kδ) from recorded trades.

The intensity model (``phoenix.backtest.intensity``) fills a quote resting δ bps from the mid at the rate
at which market orders reach that far. This estimates that rate from data, as hftbacktest's GLFT notebook
does:

1. Replay the book; for every trade take its distance from the mid *before* it, in bps.
2. Trades with the same exchange time and aggressor are one market order; its reach is its farthest trade.
3. λ(δ) = (market orders reaching ≥ δ on either side) / (2 × duration): per side, as the model uses it.
4. Fit ln λ(δ) = ln A − k·δ on a δ grid by least squares weighted by the counts (a Poisson count N has a
   log with variance ≈ 1/N), over the grid points with at least ``min_count`` orders.

A is then market orders per second per side reaching the mid, k the decay per bp: the values of
``phoenix backtest --fill-model intensity --intensity-a A --intensity-k k``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from phoenix.core.book import OrderBook
from phoenix.core.types import Side, SymbolFilters
from phoenix.exchange.sim.feeds import FeedDelta, FeedEvent, FeedSnapshot, FeedTrade

NS_PER_MS = 1_000_000
MAX_GRID_POINTS = 10_000  # a far outlier reach must not make the grid huge: the fit needs the dense part


@dataclass(frozen=True, slots=True)
class IntensityFit:
    """The fitted A (1/s per side) and k (1/bp), the fit's quality and the observed curve it was fitted to."""

    a_per_s: float
    k_per_bp: float
    r_squared: float
    market_orders: int
    trades: int
    duration_s: float
    grid_bps: tuple[float, ...]
    observed_per_s: tuple[float, ...]
    used_points: int
    reach_bps_quantiles: dict[str, float] = field(default_factory=dict)

    def fitted(self, delta_bps: float) -> float:
        """λ(δ) of the fit, per second per side."""
        return self.a_per_s * math.exp(-self.k_per_bp * delta_bps)

    def to_json(self) -> dict[str, object]:
        """Plain data for ``--json``."""
        return {
            "a_per_s": self.a_per_s,
            "k_per_bp": self.k_per_bp,
            "r_squared": self.r_squared,
            "market_orders": self.market_orders,
            "trades": self.trades,
            "duration_s": self.duration_s,
            "used_points": self.used_points,
            "reach_bps_quantiles": self.reach_bps_quantiles,
            "curve": [
                {"delta_bps": d, "observed_per_s": o, "fitted_per_s": self.fitted(d)}
                for d, o in zip(self.grid_bps, self.observed_per_s, strict=True)
            ],
        }


def market_order_reaches(
    events: Iterable[FeedEvent], filters: SymbolFilters
) -> tuple[list[float], int, float]:
    """(reach in bps of every market order, number of trades, duration in seconds) of a feed.

    A trade before the book is two-sided is skipped (no mid to measure from).
    """
    book = OrderBook(filters.tick)
    reaches: list[float] = []
    trades = 0
    first_ms: int | None = None
    last_ms = 0
    current: tuple[int, Side] | None = None
    reach = 0.0
    for ev in events:
        if first_ms is None:
            first_ms = ev.ts_ms
        last_ms = ev.ts_ms
        if isinstance(ev, FeedTrade):
            mid = book.mid()
            if mid is None or mid <= 0.0:
                continue
            trades += 1
            price = ev.price_ticks * filters.tick
            sign = 1.0 if ev.aggressor is Side.BUY else -1.0
            delta = max(0.0, sign * (price - mid) / mid * 1e4)
            key = (ev.ts_ms, ev.aggressor)
            if key == current:
                reach = max(reach, delta)
            else:
                if current is not None:
                    reaches.append(reach)
                current, reach = key, delta
        elif isinstance(ev, FeedDelta):
            book.apply_delta(ev.bids, ev.asks, ev.ts_ms * NS_PER_MS)
        elif isinstance(ev, FeedSnapshot):
            book.apply_snapshot(ev.bids, ev.asks, ev.ts_ms * NS_PER_MS)
    if current is not None:
        reaches.append(reach)
    duration_s = 0.0 if first_ms is None else (last_ms - first_ms) / 1000.0
    return reaches, trades, duration_s


def fit_intensity(
    reaches: list[float],
    duration_s: float,
    *,
    trades: int = 0,
    step_bps: float | None = None,
    max_bps: float | None = None,
    min_count: int = 5,
) -> IntensityFit:
    """Fit λ(δ) = A·e^(−kδ) to market-order reaches (bps) observed over ``duration_s``.

    The grid runs from 0 in steps of ``step_bps`` (default: the 95th-percentile reach / 20) up to
    ``max_bps`` (default: the largest reach), at most ``MAX_GRID_POINTS`` points; points with fewer than
    ``min_count`` orders are not fitted.
    Raises ``ValueError`` when the data cannot support a fit (no trades, no duration, < 3 usable points).
    """
    if duration_s <= 0.0:
        raise ValueError("the data spans no time: cannot estimate a rate")
    if len(reaches) < 2 * min_count:
        raise ValueError(
            f"only {len(reaches)} market orders in the data: calibration needs trades "
            "(mid-only data has none)"
        )
    ordered = sorted(reaches)
    n = len(ordered)

    def quantile(q: float) -> float:
        return ordered[min(n - 1, int(q * (n - 1)))]

    top = max_bps if max_bps is not None else ordered[-1]
    step = step_bps if step_bps is not None else max(quantile(0.95), 1e-6) / 20.0
    if step <= 0.0 or top <= 0.0:
        raise ValueError("every market order traded at the mid: no distance to fit a decay to")
    grid = [i * step for i in range(min(int(top / step) + 1, MAX_GRID_POINTS))]
    observed: list[float] = []
    xs: list[float] = []
    ys: list[float] = []
    ws: list[float] = []
    j = 0
    for delta in grid:
        while j < n and ordered[j] < delta:
            j += 1
        count = n - j  # orders reaching at least delta
        observed.append(count / (2.0 * duration_s))
        if count >= min_count:
            xs.append(delta)
            ys.append(math.log(count / (2.0 * duration_s)))
            ws.append(float(count))
    if len(xs) < 3:
        raise ValueError(
            f"only {len(xs)} grid points with ≥ {min_count} orders: too few to fit (lower --step-bps)"
        )
    sw = sum(ws)
    mx = sum(w * x for w, x in zip(ws, xs, strict=True)) / sw
    my = sum(w * y for w, y in zip(ws, ys, strict=True)) / sw
    sxx = sum(w * (x - mx) ** 2 for w, x in zip(ws, xs, strict=True))
    sxy = sum(w * (x - mx) * (y - my) for w, x, y in zip(ws, xs, ys, strict=True))
    slope = sxy / sxx if sxx > 0.0 else 0.0
    intercept = my - slope * mx
    ss_res = sum(w * (y - (intercept + slope * x)) ** 2 for w, x, y in zip(ws, xs, ys, strict=True))
    ss_tot = sum(w * (y - my) ** 2 for w, y in zip(ws, ys, strict=True))
    return IntensityFit(
        a_per_s=math.exp(intercept),
        k_per_bp=-slope,
        r_squared=1.0 - ss_res / ss_tot if ss_tot > 0.0 else 1.0,
        market_orders=n,
        trades=trades or n,
        duration_s=duration_s,
        grid_bps=tuple(grid),
        observed_per_s=tuple(observed),
        used_points=len(xs),
        reach_bps_quantiles={
            "p50": quantile(0.5),
            "p90": quantile(0.9),
            "p99": quantile(0.99),
            "max": ordered[-1],
        },
    )


def calibrate(
    events: Iterable[FeedEvent],
    filters: SymbolFilters,
    *,
    step_bps: float | None = None,
    max_bps: float | None = None,
    min_count: int = 5,
) -> IntensityFit:
    """Replay ``events`` (book + trades) and fit the intensity model to its market orders."""
    return calibrate_many([events], filters, step_bps=step_bps, max_bps=max_bps, min_count=min_count)


def calibrate_many(
    feeds: Iterable[Iterable[FeedEvent]],
    filters: SymbolFilters,
    *,
    step_bps: float | None = None,
    max_bps: float | None = None,
    min_count: int = 5,
) -> IntensityFit:
    """One fit over several feeds (e.g. one file per day): each is replayed on its own book; their market
    orders and durations add up."""
    reaches: list[float] = []
    trades = 0
    duration_s = 0.0
    for events in feeds:
        r, n, d = market_order_reaches(events, filters)
        reaches += r
        trades += n
        duration_s += d
    return fit_intensity(
        reaches, duration_s, trades=trades, step_bps=step_bps, max_bps=max_bps, min_count=min_count
    )


def format_fit(fit: IntensityFit, rows: int = 12) -> str:
    """A human-readable report: the fit, its quality and a sample of the observed vs fitted curve."""
    q = fit.reach_bps_quantiles
    lines = [
        f"market orders: {fit.market_orders:,} ({fit.trades:,} trades) over {fit.duration_s:,.0f} s",
        f"reach (bps from the mid): p50 {q['p50']:.3f}  p90 {q['p90']:.3f}  p99 {q['p99']:.3f}  "
        f"max {q['max']:.3f}",
        f"fit: A = {fit.a_per_s:.4g} /s per side, k = {fit.k_per_bp:.4g} /bp  "
        f"(weighted R² {fit.r_squared:.3f} over {fit.used_points} grid points)",
        f"use: --fill-model intensity --intensity-a {fit.a_per_s:.4g} --intensity-k {fit.k_per_bp:.4g}",
        "",
        f"{'δ (bps)':>10} {'observed /s':>12} {'fitted /s':>12}",
    ]
    every = max(1, len(fit.grid_bps) // rows)
    for i in range(0, len(fit.grid_bps), every):
        d = fit.grid_bps[i]
        lines.append(f"{d:>10.3f} {fit.observed_per_s[i]:>12.4g} {fit.fitted(d):>12.4g}")
    return "\n".join(lines)
